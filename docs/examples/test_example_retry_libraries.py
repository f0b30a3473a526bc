"""The app's own retries (tenacity, backoff) under faults: the back-off is virtual
(docs/fixtures.md, "Retries in the app's own code")."""

from __future__ import annotations

import httpx
import pytest
import tenacity

from pytest_hardening import Clock, FaultInjector, Provider


def orders(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"orders": []})


@pytest.fixture
def hardening_providers() -> dict[str, Provider]:
    return {"orders": Provider("https://api.example.com", orders)}


@tenacity.retry(wait=tenacity.wait_exponential(multiplier=2), stop=tenacity.stop_after_attempt(4))
def fetch_orders() -> httpx.Response:
    return httpx.get("https://api.example.com/orders").raise_for_status()


def test_outage_back_off_is_virtual(faults: FaultInjector, clock: Clock) -> None:
    faults.fail("orders", 503, times=2)
    assert fetch_orders().status_code == 200  # at once: 2 s and 4 s of virtual back-off
    assert faults.retry_sleeps == [2.0, 4.0]
