from __future__ import annotations

from typing import Any

from pytest_hardening import BreakerInspector, Clock, FaultInjector


def test_search_degrades_while_open_and_recovers(
    hardened_client: Any, faults: FaultInjector, clock: Clock, breakers: BreakerInspector
) -> None:
    faults.timeout("search")
    for _ in range(3):
        assert hardened_client.get("/search?term=x").json()["degraded"] is True
    assert breakers.state("search") == "OPEN"
    faults.heal()
    clock.advance(21)
    assert hardened_client.get("/search?term=x").json() == {"hits": ["a"], "degraded": False}
    assert breakers.state("search") == "CLOSED"
