"""A hand-written breaker with a ``state`` attribute and an ``async def reset()`` (and no
``force_open()``, or an ``async def`` one) is read and reset, as the sync one is.

Before, the first was refused with a TypeError blaming the missing ``force_open()`` (a trial's
app: every test asking for ``breakers`` failed at setup), and the second's coroutines were
called and never awaited: its reset before each test did nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import Provider, adapt_breaker


class LazyBreaker:
    """As many an app's own: ``state`` a property, ``reset()`` a coroutine under a lock."""

    def __init__(self, threshold: int = 2) -> None:
        self.threshold, self.failures, self._state = threshold, 0, "closed"
        self._lock = asyncio.Lock()

    @property
    def state(self) -> str:
        return self._state

    async def record_failure(self) -> None:
        async with self._lock:
            self.failures += 1
            if self.failures >= self.threshold:
                self._state = "open"

    async def reset(self) -> None:
        async with self._lock:
            self._state, self.failures = "closed", 0


class OpenableBreaker(LazyBreaker):
    async def force_open(self) -> None:
        async with self._lock:
            self._state = "open"


def test_the_adapter_resets_and_says_why_it_cannot_open() -> None:
    breaker = LazyBreaker()
    breaker._state = "open"
    adapter = adapt_breaker(breaker)
    assert adapter.state() == "OPEN"
    adapter.reset()
    assert (breaker.state, adapter.state()) == ("closed", "CLOSED")
    with pytest.raises(TypeError, match=r"LazyBreaker has no force_open\(\)"):
        adapter.force_open()


def test_an_async_force_open_and_reset_are_run_not_dropped() -> None:
    breaker = OpenableBreaker()
    adapter = adapt_breaker(breaker)
    adapter.force_open()
    assert breaker.state == "open"
    adapter.reset()
    assert breaker.state == "closed"


def create_app() -> Starlette:
    breaker = LazyBreaker()

    async def quote(request: Request) -> JSONResponse:
        if breaker.state == "open":
            return JSONResponse({"stale": True})
        async with httpx.AsyncClient() as http:
            answer = await http.get("https://quotes.example/q")
        if answer.status_code >= 500:
            await breaker.record_failure()
            return JSONResponse({"stale": True})
        return JSONResponse({"stale": False})

    app = Starlette(routes=[Route("/quote", quote)])
    app.state.breakers = {"quotes": breaker}
    return app


@pytest.fixture
def hardening_app_factory() -> Callable[[], Any]:
    return create_app


@pytest.fixture
def hardening_dev_env() -> dict[str, str]:
    return {}


@pytest.fixture
def hardening_providers() -> dict[str, Provider]:
    return {"quotes": Provider("https://quotes.example", lambda r: httpx.Response(200))}


def test_an_outage_opens_it_and_the_inspector_reads_it(
    hardened_client: Any, breakers: Any, faults: Any
) -> None:
    faults.fail("quotes", 503)
    for _ in range(2):
        assert hardened_client.get("/quote").json() == {"stale": True}
    assert breakers.state("quotes") == "OPEN"
    breakers.reset("quotes")
    faults.heal("quotes")
    assert hardened_client.get("/quote").json() == {"stale": False}


@pytest.mark.anyio
async def test_it_is_reset_before_an_async_test(
    hardened_async_client: Any, hardened_app: Any, breakers: Any
) -> None:
    breaker = hardened_app.state.breakers["quotes"]
    breaker._state = "open"  # as a test before this one could have left a shared one
    breakers.reset("quotes")
    assert breakers.state("quotes") == "CLOSED"
    assert (await hardened_async_client.get("/quote")).json() == {"stale": False}
