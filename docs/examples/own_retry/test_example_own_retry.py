"""The app's own retry loop (``quotes_client``: ``asyncio.sleep`` between attempts) backs off in
virtual time once its module is named (docs/fixtures.md, "Retries in the app's own code")."""

from __future__ import annotations

import httpx
import pytest
from quotes_client import QUOTES, fetch_quote

from pytest_hardening import Clock, FaultInjector, Provider


@pytest.fixture
def hardening_providers() -> dict[str, Provider]:
    return {"quotes": Provider(QUOTES, httpx.Response(200, json={"price": 7}))}


@pytest.fixture
def hardening_backoff_modules() -> list[str]:
    return ["quotes_client"]  # the modules whose code sleeps between attempts


@pytest.mark.anyio
async def test_an_outage_backs_off_in_virtual_time(faults: FaultInjector, clock: Clock) -> None:
    faults.fail("quotes", 503, times=3)
    async with httpx.AsyncClient() as client:
        assert (await fetch_quote(client)).json() == {"price": 7}  # at once
    assert faults.retry_sleeps == [1.0, 2.0, 4.0]
    assert clock.advanced == 7.0
