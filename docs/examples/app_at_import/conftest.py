"""The fixtures for an app built at import (``main.app``, beside this file)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pytest_hardening import Provider, app_from_import

THE_APP = app_from_import("main:app")  # one factory for the session: it keeps its builds


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_breakers(hardened_app: Any) -> Any:
    # The module-level breaker of the copy the app runs (the tests' `import main` may be another)
    return {"rates": THE_APP.module("main", hardened_app).breaker}


@pytest.fixture
def hardening_dev_env() -> dict[str, str]:
    return {"APP_ENV": "development"}


@pytest.fixture
def hardening_prod_env() -> dict[str, str]:
    return {"APP_ENV": "production", "RATES_URL": "https://rates.example.com"}


@pytest.fixture
def hardening_providers() -> dict[str, Provider]:
    return {"rates": Provider("https://rates.example.com", httpx.Response(200, json={"rate": 2}))}
