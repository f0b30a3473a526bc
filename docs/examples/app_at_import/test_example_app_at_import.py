"""An app built at import (``main.app``): the fixture hands over that one object. Each test
still gets its own faults and clock, and the app's breakers are closed after every test
(docs/getting-started.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pytest_hardening import BreakerInspector, FaultInjector, Provider


@pytest.fixture
def hardening_app_factory():
    def the_app():
        from main import app  # imported under the test's environment the first time only

        return app

    return the_app


@pytest.fixture
def hardening_providers() -> dict[str, Provider]:
    return {"rates": Provider("https://rates.example.com", httpx.Response(200, json={"rate": 2}))}


def test_an_outage_opens_the_breaker(
    hardened_client: Any, faults: FaultInjector, breakers: BreakerInspector
) -> None:
    faults.fail("rates", 503)
    for _ in range(3):
        assert hardened_client.get("/convert", params={"amount": 10}).json()["degraded"]
    assert breakers.state("rates") == "OPEN"


def test_whatever_ran_before_the_breaker_starts_closed(
    hardened_client: Any, faults: FaultInjector
) -> None:
    answer = hardened_client.get("/convert", params={"amount": 10}).json()
    assert answer == {"amount": 20.0, "degraded": False}
