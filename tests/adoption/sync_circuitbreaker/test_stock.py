from __future__ import annotations

from typing import Any

from pytest_hardening import BreakerInspector, Clock, FaultInjector


def test_stock_is_unknown_while_inventory_is_down(
    hardened_client: Any, faults: FaultInjector, clock: Clock, breakers: BreakerInspector
) -> None:
    faults.fail("inventory", 500)
    for _ in range(3):
        assert hardened_client.get("/stock/A1").json()["level"] is None
    assert breakers.state("adoption-inventory") == "OPEN"
    faults.heal("inventory")
    clock.advance(46)
    assert hardened_client.get("/stock/A1").json()["level"] == 7
    assert breakers.state("adoption-inventory") == "CLOSED"
