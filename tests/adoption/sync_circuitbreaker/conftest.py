from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from circuitbreaker import CircuitBreakerMonitor

from .app import create_app


@pytest.fixture
def hardening_app_factory() -> Callable[[], Any]:
    return create_app


@pytest.fixture
def hardening_providers() -> dict[str, Any]:
    return {"inventory": ("inventory.example", httpx.Response(200, json={"level": 7}))}


@pytest.fixture
def hardening_breakers() -> Any:
    return CircuitBreakerMonitor  # the library's own registry of every @circuit
