"""circuitbreaker (fabfuel): a sync route, the package's own CircuitBreakerMonitor as registry."""

from __future__ import annotations

from typing import Any

import httpx
from circuitbreaker import CircuitBreakerError, CircuitBreakerMonitor, circuit
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import BreakerInspector, Clock, FaultInjector


@circuit(failure_threshold=3, recovery_timeout=30, name="rates")
def fetch_rate() -> float:
    response = httpx.get("https://rates.example/eur", timeout=2)
    response.raise_for_status()
    return float(response.json()["eur"])


def create_app() -> Starlette:
    def rate(request: Request) -> JSONResponse:  # sync: runs in the thread pool
        try:
            return JSONResponse({"eur": fetch_rate(), "stale": False})
        except (httpx.HTTPError, CircuitBreakerError):
            return JSONResponse({"eur": 1.0, "stale": True})

    app = Starlette(routes=[Route("/rate", rate)])
    app.state.breakers = CircuitBreakerMonitor  # every @circuit, by name
    return app


def test_circuitbreaker_opens_on_an_outage_and_closes_after_its_timeout(
    hardened_client: Any, faults: FaultInjector, clock: Clock, breakers: BreakerInspector
) -> None:
    faults.fail("rates", 503)
    for _ in range(3):
        assert hardened_client.get("/rate").json()["stale"] is True
    assert breakers.state("rates") == "OPEN"
    faults.heal("rates")
    clock.advance(30)  # recovery_timeout, instantly
    assert breakers.state("rates") == "HALF_OPEN"
    assert hardened_client.get("/rate").json() == {"eur": 1.08, "stale": False}
    assert breakers.transitions("rates") == [
        ("CLOSED", "OPEN"),
        ("OPEN", "HALF_OPEN"),
        ("HALF_OPEN", "CLOSED"),
    ]


def test_forcing_the_circuit_open_serves_the_fallback(
    hardened_client: Any, faults: FaultInjector, breakers: BreakerInspector
) -> None:
    breakers.force_open("rates")
    assert hardened_client.get("/rate").json()["stale"] is True
    assert faults.calls("rates") == []  # an open circuit never calls the API
