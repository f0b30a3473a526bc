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


class NeedsKey:
    """A middleware that refuses its setting when built: Starlette builds its middleware stack
    on the first ASGI call, the lifespan's."""

    def __init__(self, app: Any, *, key: str | None) -> None:
        if not key:
            raise ValueError("API_KEY must be set in production")
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


def refusing(started: list[str]) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        started.append("startup")
        yield

    return Starlette(routes=[], middleware=[Middleware(NeedsKey, key=None)], lifespan=lifespan)


def test_a_middleware_refusing_its_setting_fails_the_startup() -> None:
    # Servers take the raise for "no lifespan support", then answer every request 500 with it:
    # a refusal, which a production check must not read as "built and started".
    started: list[str] = []
    with Harness() as harness:
        harness.build(lambda: refusing(started), {})
        with pytest.raises((LifespanError, ValueError), match="API_KEY must be set"):
            harness.client()
    assert started == []


@pytest.mark.anyio
async def test_the_async_client_fails_its_startup_too() -> None:
    with Harness() as harness:
        harness.build(lambda: refusing([]), {})
        with pytest.raises(LifespanError, match="API_KEY must be set"):
            async with harness.async_client():
                pass


def test_a_production_check_names_the_refused_setting(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        mw_refusing_app="""
        import os
        from starlette.applications import Starlette


        class NeedsKey:
            def __init__(self, app, *, key):
                if not key or len(key) < 16:
                    raise ValueError("API_KEY must be a 16+ character secret")
                self.app = app

            async def __call__(self, scope, receive, send):
                await self.app(scope, receive, send)


        def create_app():
            app = Starlette()
            app.add_middleware(NeedsKey, key=os.environ.get("API_KEY"))
            return app
        """,
        test_mw_refusing="""
        import pytest
        from mw_refusing_app import create_app


        @pytest.fixture
        def hardening_app_factory():
            return create_app


        @pytest.fixture
        def hardening_prod_env():
            return {"API_KEY": "Zq8v3LmT1pXk9RwB4nYc7HsJ2dFg6QeA"}


        def test_refused(prod_config):
            prod_config.assert_rejects(drop=["API_KEY"])
            prod_config.assert_rejects(API_KEY="short")
        """,
    )
    result = pytester.runpytest("-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio")
    result.assert_outcomes(passed=1)
