"""The fixtures for an app built at import (``main.app``, beside this file)."""

from __future__ import annotations

import httpx
import pytest

from pytest_hardening import Provider, app_from_import

THE_APP = app_from_import("main:app")  # one factory for the session: it keeps its builds


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_dev_env() -> dict[str, str]:
    return {"APP_ENV": "development"}


@pytest.fixture
def hardening_prod_env() -> dict[str, str]:
    return {"APP_ENV": "production", "RATES_URL": "https://rates.example.com"}


@pytest.fixture
def hardening_providers() -> dict[str, Provider]:
    return {"rates": Provider("https://rates.example.com", httpx.Response(200, json={"rate": 2}))}
