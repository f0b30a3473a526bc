"""A tiny app that is not the reference app: proves the chaos engine is app-agnostic.

``POST /orders`` stores the order, then charges it at a payment provider through a breaker;
provider failure or an open breaker → 202 (kept, charge later), success → 201. With
``breaker_on_first_use`` the breaker is made at the first order, in the dict the app shows
(as a client library builds its breaker at its first request).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import Provider
from reference_app.resilience import CircuitBreaker, CircuitOpenError, http_failure

PAYMENTS = "https://api.payments.test"


def create_app(*, lose_queued: bool = False, breaker_on_first_use: bool = False) -> Starlette:
    def make_breaker() -> CircuitBreaker:
        return CircuitBreaker(
            "payments",
            failure_threshold=3,
            success_threshold=1,
            open_timeout=30,
            is_failure_result=http_failure,
            is_failure_exception=http_failure,
        )

    breakers: dict[str, CircuitBreaker] = (
        {} if breaker_on_first_use else {"payments": make_breaker()}
    )
    orders: dict[str, dict[str, Any]] = {}
    ids = itertools.count(1)

    async def create(request: Request) -> JSONResponse:
        body = await request.json()
        order_id = str(next(ids))
        orders[order_id] = {"id": order_id, "item": body["item"], "status": "pending"}
        client: httpx.AsyncClient = request.app.state.http
        if "payments" not in breakers:
            breakers["payments"] = make_breaker()
        breaker = breakers["payments"]
        try:
            response = await breaker.acall(client.post, f"{PAYMENTS}/charge", json=body)
            charged = response.status_code == 200
        except (httpx.HTTPError, CircuitOpenError):
            charged = False
        if not charged and lose_queued:
            del orders[order_id]  # the bug the data check must catch
        orders.get(order_id, {})["status"] = "charged" if charged else "queued"
        return JSONResponse({"id": order_id}, status_code=201 if charged else 202)

    async def read(request: Request) -> JSONResponse:
        order = orders.get(request.path_params["order_id"])
        return JSONResponse(order or {"detail": "not found"}, status_code=200 if order else 404)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with httpx.AsyncClient(timeout=5) as client:
            app.state.http = client
            yield

    app = Starlette(
        routes=[Route("/orders", create, methods=["POST"]), Route("/orders/{order_id}", read)],
        lifespan=lifespan,
    )
    app.state.breakers = breakers  # read live: one made on first use shows from then on
    return app


def _down(request: httpx.Request) -> httpx.Response:
    return httpx.Response(503, json={"error": "down"})


def _charged(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"charged": True})


PAYMENTS_PROVIDER = Provider(PAYMENTS, _charged)
PAYMENTS_DOWN = Provider(PAYMENTS, _down)
