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
    return {"geo": ("https://geo.example", httpx.Response(200, json={"city": "Pune"}))}
