"""The harness behind the fixtures, used as a plain object, and the reuse contract: one running
app shared by the tests of this module, reset between them (docs/harness.md)."""

from __future__ import annotations

from typing import Any

import httpx
import pybreaker
import pytest
from pricing_app import create_app

from pytest_hardening import Harness, Provider

PRICING = {"pricing": Provider("https://pricing.example.com", lambda r: httpx.Response(503))}


def test_the_harness_without_fixtures() -> None:
    with Harness(seed=7) as harness:
        harness.build(create_app, {"PRICING_URL": "https://pricing.example.com"})
        faults = harness.fake_providers(PRICING)
        clock = harness.freeze()
        client = harness.client()
        breakers = harness.inspect_breakers()
        for _ in range(3):
            assert client.get("/quote").json()["cached"] is True
        assert breakers.state("pricing") == "OPEN"
        clock.advance(31)
        assert faults.calls("pricing")  # every call was answered in memory
    # closed: environment, time, HTTP interception and Sentry are as they were before


def reset_pricing_app(app: Any) -> None:
    """What a test can leave behind in this app: only its breaker."""
    breaker: pybreaker.CircuitBreaker = app.state.breakers["pricing"]
    breaker.close()


@pytest.fixture
def hardening_app_reset() -> Any:
    return reset_pricing_app  # hardened_client tests here share one running app


def test_an_outage_opens_the_breaker(hardened_client: Any, faults: Any, breakers: Any) -> None:
    faults.fail("pricing", 503)
    for _ in range(3):
        assert hardened_client.get("/quote").json()["cached"] is True
    assert breakers.state("pricing") == "OPEN"


def test_the_next_test_starts_closed(hardened_app: Any, hardened_client: Any) -> None:
    assert hardened_app.state.breakers["pricing"].current_state == "closed"
    assert hardened_client.get("/quote").json() == {"price": 10.5, "cached": False}
