from __future__ import annotations

from typing import Any

from pytest_hardening import BreakerInspector, Clock, FaultInjector


def test_factory_circuits_are_the_breakers(
    hardened_client: Any, faults: FaultInjector, clock: Clock, breakers: BreakerInspector
) -> None:
    faults.refuse("geo")
    for _ in range(2):
        assert hardened_client.get("/geocode").json() == {"city": None}
    assert breakers.state("geo") == "OPEN"
    faults.heal("geo")
    clock.advance(11)
    assert hardened_client.get("/geocode").json() == {"city": "Pune"}
    assert breakers.state("geo") == "CLOSED"
