from __future__ import annotations

from typing import Any

from pytest_hardening import BreakerInspector, Clock, FaultInjector


def test_payments_outage_opens_then_recovers(
    hardened_client: Any, faults: FaultInjector, clock: Clock, breakers: BreakerInspector
) -> None:
    # pybreaker raises on the failure that opens it: the third call sees the open breaker.
    faults.fail("payments", 503)
    statuses = [hardened_client.post("/charges").status_code for _ in range(3)]
    assert statuses == [502, 502, 503]
    assert breakers.state("payments") == "OPEN"
    faults.heal("payments")
    clock.advance(31)
    assert hardened_client.post("/charges").status_code == 200
    assert breakers.transitions("payments") == [
        ("CLOSED", "OPEN"),
        ("OPEN", "HALF_OPEN"),
        ("HALF_OPEN", "CLOSED"),
    ]
