"""An app whose lifespan raises before answering startup (a pure ASGI middleware that asserts
``scope["type"] == "http"``) does not support the protocol, and uvicorn and hypercorn serve it
without one. Starlette's TestClient raised that error instead: the app production serves could
not be reached by ``hardened_client``, and ``hardening chaos`` said only "AssertionError()"."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from pytest_hardening import Harness, LifespanError


class HttpOnly:
    """A middleware written for HTTP alone, as many are."""

    def __init__(self, app: Any, *, consume: bool = False) -> None:
        self.app = app
        self.consume = consume

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.consume and scope["type"] == "lifespan":
            await receive()  # read the startup message, then gave up
        assert scope["type"] == "http"
        await self.app(scope, receive, send)


def app(started: list[str], *, consume: bool = False) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        started.append("startup")
        yield

    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hello")

    return Starlette(
        routes=[Route("/", hello)],
        middleware=[Middleware(HttpOnly, consume=consume)],
        lifespan=lifespan,
    )


@pytest.mark.parametrize("consume", [False, True], ids=["raised", "read-then-raised"])
def test_an_app_without_lifespan_support_is_served_without_one(consume: bool) -> None:
    started: list[str] = []
    with Harness() as harness:
        harness.build(lambda: app(started, consume=consume), {})
        assert harness.client().get("/").text == "hello"
    assert started == []  # as a server runs it: its startup never ran there either


def test_an_app_whose_startup_failed_still_fails() -> None:
    @contextlib.asynccontextmanager
    async def broken(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("database URL is missing")
        yield

    failing = Starlette(routes=[], lifespan=broken)
    with Harness() as harness:
        harness.build(lambda: failing, {})
        with pytest.raises((LifespanError, RuntimeError), match="database URL is missing"):
            harness.client()


@pytest.mark.anyio
async def test_the_async_client_serves_it_too() -> None:
    started: list[str] = []
    with Harness() as harness:
        harness.build(lambda: app(started), {})
        async with harness.async_client() as client:
            assert (await client.get("/")).text == "hello"
    assert started == []
