"""A breaker that reports its transitions (a listener) is stamped on the timeline when the
transition happened, not when the request that made it ended: pybreaker's probe moves it
OPEN -> HALF_OPEN as the open timeout ends, before a slow provider answers."""

from __future__ import annotations

from typing import Any

import httpx
import pybreaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import Provider
from pytest_hardening.chaos import (
    Advance,
    HarnessSession,
    Heal,
    Inject,
    Scenario,
    breaker_line,
    run_scenario,
    send,
)

PRICING = Provider("https://pricing.test", lambda r: httpx.Response(200, json={"price": 1}))


def pricing_app() -> Starlette:
    breaker = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=30)

    def fetch() -> Any:
        answer = httpx.get("https://pricing.test/price", timeout=10)
        return answer.raise_for_status().json()["price"]

    def quote(request: Request) -> JSONResponse:
        try:
            return JSONResponse({"price": breaker.call(fetch)})
        except (httpx.HTTPError, pybreaker.CircuitBreakerError):
            return JSONResponse({"price": None})

    app = Starlette(routes=[Route("/quote", quote)])
    app.state.breakers = {"pricing": breaker}
    return app


def test_a_reported_transition_is_stamped_when_it_happened() -> None:
    scenario = Scenario(
        "slow-probe",
        "the probe's provider answers 5 s late",
        steady_state=(),
        method=(
            Inject("pricing", "fail", 503),
            send("GET", "/quote", count=2, expect=200),
            Heal("pricing"),
            Inject("pricing", "latency", 5),
            Advance(30),
            send("GET", "/quote", expect=200),
        ),
        rollback=(Heal(),),
    )
    result = run_scenario(scenario, HarnessSession(pricing_app, {}, {"pricing": PRICING}))
    assert result.passed, result.failures
    changes = [(c.at, c.to_state) for c in result.timeline.transitions("pricing")]
    opened = next(at for at, state in changes if state == "OPEN")
    # HALF_OPEN as the probe starts (30 s after OPEN), CLOSED once its 5 s answer came back
    assert [(at - opened, state) for at, state in changes if state != "OPEN"] == [
        (30.0, "HALF_OPEN"),
        (35.0, "CLOSED"),
    ]
    assert "OPEN ─30s→ HALF_OPEN" in breaker_line(result.timeline, "pricing")
