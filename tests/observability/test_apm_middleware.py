from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI, HTTPException
from freezegun import freeze_time
from freezegun.api import FrozenDateTimeFactory, StepTickTimeFactory, TickingDateTimeFactory
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from reference_app.observability import UNMATCHED_ROUTE, ApmMiddleware, ApmRegistry

pytestmark = pytest.mark.anyio

Freezer = FrozenDateTimeFactory | StepTickTimeFactory | TickingDateTimeFactory
#: Left on real time by the freezes here: pytest's phase timer (--durations), and openai, whose
#: lazy attributes freezegun's first start would import (about 500 modules) to look at them.
IGNORE = ["_pytest.timing", "openai"]


@contextmanager
def frozen() -> Iterator[Freezer]:
    # pytest times its phases with the functions it imported: keep them real (--durations).
    with freeze_time("2026-01-01", real_asyncio=True, ignore=IGNORE) as freezer:
        yield freezer


def build_app(apm: ApmRegistry, clock: list[Freezer] | None = None) -> FastAPI:
    app = FastAPI()
    calls = APIRouter(prefix="/api/calls")

    @calls.get("/{call_id}")
    async def get_call(call_id: str) -> dict[str, str]:
        if call_id == "missing":
            raise HTTPException(404)
        return {"id": call_id}

    @calls.post("")
    async def create_call() -> dict[str, str]:
        if clock:
            clock[0].tick(6.0)  # a 6 s request, without sleeping
        return {"status": "queued"}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("handler failed")

    app.include_router(calls)
    app.mount("/v2", Starlette(routes=[Route("/items/{item}", _item)]))
    app.add_middleware(ApmMiddleware, registry=apm)
    return app


async def _item(request: Request) -> PlainTextResponse:
    return PlainTextResponse(request.path_params["item"])


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


async def test_requests_are_keyed_by_route_template_not_raw_path() -> None:
    apm = ApmRegistry()
    async with client(build_app(apm)) as http:
        for call_id in ("a1", "b2", "c3", "missing"):
            await http.get(f"/api/calls/{call_id}")
        await http.get("/v2/items/42")

    keys = set(apm.endpoints())
    assert keys == {"GET /api/calls/{call_id}", "GET /v2/items/{item}"}
    stats = apm.endpoint("GET /api/calls/{call_id}")
    assert (stats.count, stats.errors) == (4, 0)  # the 404 from the handler is not an error


async def test_unmatched_paths_share_one_bucket() -> None:
    apm = ApmRegistry()
    async with client(build_app(apm)) as http:
        for i in range(20):
            assert (await http.get(f"/scan/{i}")).status_code == 404

    assert set(apm.endpoints()) == {f"GET {UNMATCHED_ROUTE}"}
    assert apm.endpoint(f"GET {UNMATCHED_ROUTE}").count == 20


async def test_unhandled_exception_counts_as_500_and_propagates() -> None:
    apm = ApmRegistry()
    app = build_app(apm)
    async with client(app) as http:
        assert (await http.get("/boom")).status_code == 500

    assert apm.endpoint("GET /boom").errors == 1

    strict = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    async with strict:
        with pytest.raises(RuntimeError, match="handler failed"):
            await strict.get("/boom")
    assert apm.endpoint("GET /boom").count == 2


async def test_slow_endpoint_alert_with_virtual_time() -> None:
    apm = ApmRegistry()
    clock: list[Freezer] = []
    # Built before time is frozen: FastAPI imports pydantic.v1 on its first route, and a module
    # first imported under freezegun subclasses its fake date (a metaclass conflict).
    app = build_app(apm, clock)
    with frozen() as freezer:
        clock.append(freezer)
        async with client(app) as http:
            assert (await http.post("/api/calls")).status_code == 200

    stats = apm.endpoint("POST /api/calls")
    assert stats.max == pytest.approx(6.0)
    assert [(a.kind, a.subject) for a in apm.alerts] == [("slow_endpoint", "POST /api/calls")]


async def test_registry_may_be_resolved_lazily_and_odd_methods_are_bucketed() -> None:
    holder: dict[str, ApmRegistry] = {}
    app = FastAPI()
    app.add_middleware(ApmMiddleware, registry=lambda: holder["apm"])
    holder["apm"] = ApmRegistry()
    async with client(app) as http:
        await http.request("BREW", "/pot")

    assert set(holder["apm"].endpoints()) == {f"OTHER {UNMATCHED_ROUTE}"}


async def test_non_http_scopes_pass_through_untouched() -> None:
    apm = ApmRegistry()
    seen: list[str] = []

    async def inner(scope, receive, send):  # type: ignore[no-untyped-def]
        seen.append(scope["type"])

    await ApmMiddleware(inner, apm)({"type": "lifespan"}, None, None)  # type: ignore[arg-type]
    assert seen == ["lifespan"]
    assert apm.endpoints() == {}


async def test_cancellation_is_recorded_as_499_and_propagates() -> None:
    apm = ApmRegistry()

    async def cancelled(scope, receive, send):  # type: ignore[no-untyped-def]
        raise asyncio.CancelledError

    async def no_response(scope, receive, send):  # type: ignore[no-untyped-def]
        return None

    scope = {"type": "http", "method": "GET", "path": "/x", "root_path": ""}
    with pytest.raises(asyncio.CancelledError):
        await ApmMiddleware(cancelled, apm)(dict(scope), None, None)  # type: ignore[arg-type]
    await ApmMiddleware(no_response, apm)(dict(scope), None, None)  # type: ignore[arg-type]

    stats = apm.endpoint(f"GET {UNMATCHED_ROUTE}")
    assert (stats.count, stats.errors) == (2, 1)  # 499 is not a server error; no response is
    assert b'status_class="4xx"' in apm.prometheus_text()


class _Forwarding(ApmRegistry):
    """A subclass: the middleware hands it every request through record_request."""

    def record_request(
        self, method: str, route_template: str, status: int, duration: float
    ) -> None:
        super().record_request(method, route_template, status, duration)


async def test_queued_in_line_equals_recorded_through_record_request() -> None:
    # The middleware queues a plain route's request itself (not through record_request) for our
    # own registry class: the records, percentiles, alerts and exposition must be the same as
    # through record_request, across folds and ring overflow, with mounts and unmatched paths.
    clock: list[Freezer] = []

    def app_for(apm: ApmRegistry) -> FastAPI:
        app = FastAPI()

        @app.get("/items/{item}", response_model=None)
        async def item(item: str) -> PlainTextResponse:
            number = int(item)
            clock[0].tick(6.0 if number % 97 == 0 else number % 13 / 1000)  # a few slow ones
            return PlainTextResponse("x", status_code=(200, 201, 404, 503)[number % 4])

        app.mount("/v2", Starlette(routes=[Route("/items/{item}", _item)]))
        app.add_middleware(ApmMiddleware, registry=apm)
        return app

    in_line = ApmRegistry(reservoir_size=16)
    forwarded = _Forwarding(reservoir_size=16)
    apps = [app_for(in_line), app_for(forwarded)]  # built in real time (lazy imports)
    for app in apps:
        # Each run from the same instant: both see bit-for-bit the same durations.
        with freeze_time("2026-01-01", real_asyncio=True, ignore=IGNORE) as freezer:
            clock[:] = [freezer]
            async with client(app) as http:
                for i in range(700):  # more than two folds; the rings overflow many times
                    path = ("/items/{}", "/v2/items/{}", "/nowhere/{}")[0 if i % 5 else i // 5 % 3]
                    await http.get(path.format(i))

    assert in_line.endpoints() == forwarded.endpoints()
    assert set(in_line.endpoints()) == {
        "GET /items/{item}",
        "GET /v2/items/{item}",
        f"GET {UNMATCHED_ROUTE}",
    }
    assert [(a.kind, a.subject, a.duration) for a in in_line.alerts] == [
        (a.kind, a.subject, a.duration) for a in forwarded.alerts
    ]
    assert in_line.alerts  # the slow ones were alerted

    def scrape(apm: ApmRegistry) -> list[str]:
        return [
            line for line in apm.prometheus_text().decode().splitlines() if "_created" not in line
        ]

    assert scrape(in_line) == scrape(forwarded)
