"""Pointing pytest-hardening at your own app: three fixture overrides."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pricing_app import create_app

from pytest_hardening import Provider


@pytest.fixture
def hardening_app_factory() -> Callable[[], Any]:
    return create_app


@pytest.fixture
def hardening_dev_env() -> dict[str, str]:
    return {"PRICING_URL": "https://pricing.example.com"}


def healthy_pricing(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"price": 10.5})


@pytest.fixture
def hardening_providers() -> dict[str, Provider]:
    return {"pricing": Provider("https://pricing.example.com", healthy_pricing)}
