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


def _orders(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"orders": [{"id": 1}, {"id": 2}]})


@pytest.fixture
def hardening_providers() -> dict[str, Provider]:
    return {"shop": Provider("https://eu.shop.example", _orders)}
