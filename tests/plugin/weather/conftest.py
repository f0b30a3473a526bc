"""Point the hardening fixtures at the small weather app (weather_app.py beside it)."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import pytest

from pytest_hardening import Provider

from . import weather_app

DEV_ENV = {
    "APP_ENV": "development",
    "SENTRY_DSN": "https://public@sentry.example/1",
    "DB_PASSWORD": "hunter2-secret",
}
PROD_ENV = {
    "APP_ENV": "production",
    "WEATHER_API_URL": "https://api.weather.example",
    "WEATHER_API_KEY": "wk_live_0123456789abcdef",
    "SENTRY_DSN": "https://public@sentry.example/1",
}


@pytest.fixture
def hardening_app_factory() -> object:
    return weather_app.create_app


@pytest.fixture
def hardening_app_reset() -> None:
    """A different app from the reference app above: its reset does not apply (a fresh
    build per test)."""
    return


@pytest.fixture
def hardening_dev_env() -> Mapping[str, str]:
    return DEV_ENV


@pytest.fixture
def hardening_prod_env() -> Mapping[str, str]:
    return PROD_ENV


@pytest.fixture
def hardening_providers() -> Mapping[str, object]:
    return {
        "weather": Provider(
            "https://api.weather.example",
            healthy=lambda request: httpx.Response(200, json={"temp_c": 21}),
        )
    }
