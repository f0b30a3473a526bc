"""An ``async def`` breaker whose state lives in a store bound to the app's event loop (as
with redis.asyncio) is read, opened and reset in that loop while ``hardened_client`` serves it.

Before, its coroutines were run outside any loop: the store raised "no running event loop", the
breaker's own fail-safe read turned that into CLOSED, and ``breakers.state`` reported CLOSED for
a breaker whose store said OPEN; its reset before the test did nothing, silently."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import Provider


class LoopStore:
    """A store an app opens in its lifespan; as an async Redis client, it serves only the
    event loop that opened it, and each read or write is I/O (it waits)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.loop: asyncio.AbstractEventLoop | None = None

    async def _io(self) -> None:
        if asyncio.get_running_loop() is not self.loop:
            raise RuntimeError("the store is bound to another event loop")
        await asyncio.sleep(0)

    async def get(self, key: str) -> Any:
        await self._io()
        return self.data.get(key)

    async def set(self, key: str, value: Any) -> None:
        await self._io()
        self.data[key] = value


class StoreBreaker:
    """A hand-written breaker whose state is in the store; reads fail safe (CLOSED)."""

    def __init__(self, store: LoopStore, threshold: int = 3) -> None:
        self.store, self.threshold = store, threshold

    async def state(self) -> str:
        try:
            return str(await self.store.get("state") or "CLOSED")
        except Exception:
            return "CLOSED"

    async def force_open(self) -> None:
        await self.store.set("state", "OPEN")

    async def reset(self) -> None:
        await self.store.set("state", "CLOSED")
        await self.store.set("failures", 0)

    async def record_failure(self) -> None:
        failures = (await self.store.get("failures") or 0) + 1
        await self.store.set("failures", failures)
        if failures >= self.threshold:
            await self.store.set("state", "OPEN")


def create_app() -> Starlette:
    store = LoopStore()
    breaker = StoreBreaker(store)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        store.loop = asyncio.get_running_loop()
        await store.set("state", "OPEN")  # left over from a run before: the reset closes it
        yield

    async def rate(request: Request) -> JSONResponse:
        if await breaker.state() == "OPEN":
            return JSONResponse({"stale": True})
        try:
            async with httpx.AsyncClient() as http:
                (await http.get("https://rates.example/eur")).raise_for_status()
        except httpx.HTTPError:
            await breaker.record_failure()
            return JSONResponse({"stale": True})
        return JSONResponse({"stale": False})

    app = Starlette(routes=[Route("/rate", rate)], lifespan=lifespan)
    app.state.breakers = {"rates": breaker}
    app.state.store = store
    return app


@pytest.fixture
def hardening_app_factory() -> Callable[[], Any]:
    return create_app


@pytest.fixture
def hardening_app_reset() -> None:
    return None


@pytest.fixture
def hardening_dev_env() -> dict[str, str]:
    return {}


@pytest.fixture
def hardening_providers() -> dict[str, Provider]:
    answer = httpx.Response(200, json={"eur": 1.08})
    return {"rates": Provider("https://rates.example", lambda request: answer)}


def test_an_outage_opens_the_breaker_and_it_reads_open(
    breakers: Any, hardened_client: Any, hardened_app: Any, faults: Any
) -> None:
    # `breakers` first: its reset before the test runs in the app's loop all the same.
    assert hardened_app.state.store.data["state"] == "CLOSED"
    assert hardened_client.get("/rate").json() == {"stale": False}
    faults.fail("rates", 503)
    for _ in range(3):
        assert hardened_client.get("/rate").json() == {"stale": True}
    assert hardened_app.state.store.data["state"] == "OPEN"
    assert breakers.state("rates") == "OPEN"


def test_force_open_and_reset_reach_the_store(
    hardened_client: Any, hardened_app: Any, breakers: Any
) -> None:
    breakers.force_open("rates")
    assert breakers.transitions("rates") == [("CLOSED", "OPEN")]
    assert hardened_client.get("/rate").json() == {"stale": True}
    breakers.reset("rates")  # closes it, and forgets the transitions
    assert hardened_app.state.store.data["state"] == "CLOSED"
    assert hardened_client.get("/rate").json() == {"stale": False}
