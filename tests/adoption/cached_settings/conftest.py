from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pytest_hardening import Provider

from .app import create_app


@pytest.fixture
def hardening_app_factory() -> Callable[[], Any]:
    return create_app


@pytest.fixture
def hardening_dev_env() -> dict[str, str]:
    return {"APP_ENV": "development"}


@pytest.fixture
def hardening_prod_env() -> dict[str, str]:
    return {"APP_ENV": "production", "PAYMENTS_KEY": "pk_live_7Hq2mZ9xV4sLw8Rt"}


@pytest.fixture
def hardening_providers() -> dict[str, Provider]:
    return {
        "payments": Provider("https://payments.example", lambda r: httpx.Response(201, json={}))
    }
