"""aiobreaker: an async Starlette service, its breaker found in app.state.breakers."""

from __future__ import annotations

import datetime as dt
from typing import Any

import aiobreaker
import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import BreakerInspector, Clock, FaultInjector


def create_app() -> Starlette:
    breaker = aiobreaker.CircuitBreaker(fail_max=3, timeout_duration=dt.timedelta(seconds=30))

    async def fetch_rate() -> float:
        async with httpx.AsyncClient(base_url="https://rates.example", timeout=2) as http:
            response = await http.get("/eur")
            response.raise_for_status()
            return float(response.json()["eur"])

    async def rate(request: Request) -> JSONResponse:
        try:
            return JSONResponse({"eur": await breaker.call_async(fetch_rate), "stale": False})
        except (httpx.HTTPError, aiobreaker.CircuitBreakerError):
            return JSONResponse({"eur": 1.0, "stale": True})

    app = Starlette(routes=[Route("/rate", rate)])
    app.state.breakers = {"rates": breaker}
    return app


def test_aiobreaker_opens_on_an_outage_and_closes_after_its_timeout(
    hardened_client: Any, faults: FaultInjector, clock: Clock, breakers: BreakerInspector
) -> None:
    faults.fail("rates", 503)
    for _ in range(3):
        assert hardened_client.get("/rate").json()["stale"] is True
    assert breakers.state("rates") == "OPEN"
    faults.heal("rates")
    clock.advance(30)  # timeout_duration, instantly
    assert hardened_client.get("/rate").json() == {"eur": 1.08, "stale": False}
    assert breakers.transitions("rates") == [
        ("CLOSED", "OPEN"),
        ("OPEN", "HALF_OPEN"),
        ("HALF_OPEN", "CLOSED"),
    ]
