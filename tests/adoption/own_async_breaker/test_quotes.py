from __future__ import annotations

from typing import Any

import httpx
import pytest

from pytest_hardening import BreakerInspector, Clock, FaultInjector


@pytest.mark.asyncio
async def test_own_breaker_on_a_stored_monotonic_moves_with_the_clock(
    hardened_async_client: httpx.AsyncClient,
    faults: FaultInjector,
    clock: Clock,
    breakers: BreakerInspector,
) -> None:
    faults.fail("quotes", 502)
    for _ in range(2):
        assert (await hardened_async_client.get("/")).status_code == 503
    assert breakers.state("quotes") == "OPEN"
    faults.heal("quotes")
    clock.advance(60)  # the breaker stored time.monotonic at build time: it moves all the same
    assert (await hardened_async_client.get("/")).json() == {"price": 12}
    assert breakers.state("quotes") == "CLOSED"


def test_a_plain_asgi_app_gets_a_sync_client_too(
    hardened_client: Any, faults: FaultInjector, breakers: BreakerInspector
) -> None:
    assert hardened_client.get("/").json() == {"price": 12}
    breakers.force_open("quotes")
    assert hardened_client.get("/").status_code == 503
