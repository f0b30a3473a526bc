from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from . import app


@pytest.fixture
def hardening_app_factory() -> Callable[[], Any]:
    return app.create_app


@pytest.fixture
def hardening_providers() -> dict[str, Any]:
    return {"search": ("https://search.example", httpx.Response(200, json={"hits": ["a"]}))}


@pytest.fixture
def hardening_breakers() -> dict[str, Any]:
    return {"search": app.search_breaker}
