from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from .app import create_app


@pytest.fixture
def hardening_app_factory() -> Callable[[], Any]:
    return create_app


@pytest.fixture
def hardening_providers() -> dict[str, Any]:
    return {"quotes": ("https://quotes.example", httpx.Response(200, json={"price": 12}))}


@pytest.fixture
def hardening_breakers(hardened_app: Any) -> dict[str, Any]:
    return {"quotes": hardened_app.quotes_breaker}
