"""The plugin's fixtures against your own app (see conftest.py next to this file)."""

from __future__ import annotations

from typing import Any

from pytest_hardening import BreakerInspector, Clock, FaultInjector


def test_pricing_outage_serves_cached_quotes_then_recovers(
    hardened_client: Any, faults: FaultInjector, clock: Clock, breakers: BreakerInspector
) -> None:
    assert hardened_client.get("/quote").json() == {"price": 10.5, "cached": False}
    faults.fail("pricing", 503)
    for _ in range(3):
        assert hardened_client.get("/quote").json()["cached"] is True
    assert breakers.state("pricing") == "OPEN"  # pybreaker, through the shipped adapter
    faults.heal("pricing")
    clock.advance(30)  # pybreaker's reset_timeout, instantly
    assert hardened_client.get("/quote").json() == {"price": 10.5, "cached": False}
    assert breakers.state("pricing") == "CLOSED"
