"""Getting started: async tests under pytest-asyncio (strict mode here; auto mode needs no mark)."""

from __future__ import annotations

import httpx
import pytest

from pytest_hardening import BreakerInspector, Clock, FaultInjector


@pytest.mark.asyncio
async def test_async_client_in_the_tests_own_loop(
    hardened_async_client: httpx.AsyncClient,
    faults: FaultInjector,
    clock: Clock,
    breakers: BreakerInspector,
) -> None:
    faults.fail("pricing", 503, times=3)
    for _ in range(3):
        assert (await hardened_async_client.get("/quote")).json()["cached"] is True
    assert breakers.state("pricing") == "OPEN"
    clock.advance(30)
    assert (await hardened_async_client.get("/quote")).json() == {"price": 10.5, "cached": False}
