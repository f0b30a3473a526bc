"""Each example module in this folder is a small app of its own (its ``create_app``) with a
breaker library, tested through the plugin's fixtures. The apps call one upstream, a rates API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pytest_hardening import Provider


@pytest.fixture
def hardening_app_factory(request: pytest.FixtureRequest) -> Callable[[], Any]:
    factory: Callable[[], Any] = request.module.create_app
    return factory


def healthy_rates(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"eur": 1.08})


@pytest.fixture
def hardening_providers() -> dict[str, Provider]:
    return {"rates": Provider("https://rates.example", healthy_rates)}
