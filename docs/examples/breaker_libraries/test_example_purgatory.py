"""purgatory: the app's AsyncCircuitBreakerFactory is the registry; its circuits are the names."""

from __future__ import annotations

from typing import Any

import httpx
from purgatory import AsyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import BreakerInspector, Clock, FaultInjector


def create_app() -> Starlette:
    circuits = AsyncCircuitBreakerFactory(default_threshold=3, default_ttl=30)

    async def rate(request: Request) -> JSONResponse:
        try:
            breaker = await circuits.get_breaker("rates")
            async with breaker, httpx.AsyncClient(timeout=2) as http:
                response = await http.get("https://rates.example/eur")
                response.raise_for_status()
            return JSONResponse({"eur": response.json()["eur"], "stale": False})
        except (httpx.HTTPError, OpenedState):
            return JSONResponse({"eur": 1.0, "stale": True})

    app = Starlette(routes=[Route("/rate", rate)])
    app.state.breakers = circuits  # the factory itself: circuits appear as they are first used
    return app


def test_purgatory_opens_on_an_outage_and_closes_after_its_ttl(
    hardened_client: Any, faults: FaultInjector, clock: Clock, breakers: BreakerInspector
) -> None:
    faults.fail("rates", 503)
    for _ in range(3):
        assert hardened_client.get("/rate").json()["stale"] is True
    assert breakers.state("rates") == "OPEN"
    faults.heal("rates")
    clock.advance(31)  # past default_ttl (purgatory waits strictly longer than the TTL)
    assert hardened_client.get("/rate").json() == {"eur": 1.08, "stale": False}
    assert breakers.transitions("rates") == [
        ("CLOSED", "OPEN"),
        ("OPEN", "HALF_OPEN"),
        ("HALF_OPEN", "CLOSED"),
    ]
