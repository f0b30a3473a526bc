"""Settings cached by ``@lru_cache def get_settings()`` follow the environment of each build:
the production build runs with production settings, a missing key is refused, the docs are
gone in production, and development tests around a production build keep development
settings, in any order."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_hardening import ProdConfigChecker, RouteAuditor

from .config import get_settings


def test_development(hardened_client: Any) -> None:
    assert hardened_client.post("/charge").json() == {"env": "development", "charged": True}


@pytest.mark.production
def test_production(hardened_client: Any) -> None:
    assert hardened_client.post("/charge").json() == {"env": "production", "charged": True}


def test_a_missing_live_key_is_refused(prod_config: ProdConfigChecker) -> None:
    prod_config.assert_accepts()
    prod_config.assert_rejects(drop=["PAYMENTS_KEY"])
    prod_config.audit().assert_ok()


def test_the_docs_are_gone_in_production(route_audit: RouteAuditor) -> None:
    route_audit.assert_absent_in_production("/docs")


def test_a_production_build_mid_test_leaves_development_settings(
    hardened_client: Any, prod_config: ProdConfigChecker
) -> None:
    assert hardened_client.post("/charge").json()["env"] == "development"
    prod_config.assert_accepts()
    assert hardened_client.post("/charge").json()["env"] == "development"


def test_after_a_production_build_the_getter_reads_the_environment_it_runs_in(
    prod_config: ProdConfigChecker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("APP_ENV", raising=False)
    prod_config.assert_accepts()
    assert get_settings().app_env == "development"
