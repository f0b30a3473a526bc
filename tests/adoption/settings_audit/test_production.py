from __future__ import annotations

from typing import Any

import pytest

from pytest_hardening import ProdConfigChecker, RouteAuditor


def test_the_production_audit_finds_nothing_unsafe_accepted(prod_config: ProdConfigChecker) -> None:
    prod_config.assert_accepts()
    report = prod_config.audit()  # SENTRY_DSN is declared optional by the app itself
    report.assert_ok()
    assert not any(m.variable == "SENTRY_DSN" and m.value is None for m in report.accepted)


def test_a_weak_secret_is_refused_without_printing_it(prod_config: ProdConfigChecker) -> None:
    prod_config.assert_rejects(SECRET_KEY="dev-secret")


def test_docs_exist_in_development_only(route_audit: RouteAuditor) -> None:
    route_audit.assert_absent_in_production("/docs")


@pytest.mark.production
def test_the_production_build_serves(hardened_client: Any) -> None:
    assert hardened_client.get("/health").json() == {"env": "production"}
