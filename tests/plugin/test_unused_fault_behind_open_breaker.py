"""A fault no call met while the provider's breaker was open: the teardown's report says that the
breaker answered, so the test is fixed where it is wrong (arm the fault before the breaker
opens, or expect the fallback)."""

from __future__ import annotations

from typing import Any

import httpx
import pybreaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import Harness


def rates_app() -> Starlette:
    breaker = pybreaker.CircuitBreaker(fail_max=1, reset_timeout=60, name="rates")

    def fetch() -> Any:
        reply = httpx.get("https://rates.example.com/eur", timeout=5)
        reply.raise_for_status()
        return reply.json()

    def rate(request: Request) -> JSONResponse:
        try:
            return JSONResponse(breaker.call(fetch))
        except (pybreaker.CircuitBreakerError, httpx.HTTPError):
            return JSONResponse({"rate": None, "stale": True})

    app = Starlette(routes=[Route("/rate", rate)])
    app.state.breakers = {"rates": breaker}
    return app


PROVIDERS = {"rates": ("https://rates.example.com", httpx.Response(200, json={"rate": 1.08}))}


def test_a_fault_armed_behind_an_open_breaker_is_reported_with_the_breaker() -> None:
    with Harness() as harness:
        harness.build(rates_app, {})
        faults = harness.fake_providers(PROVIDERS)
        breakers = harness.inspect_breakers()
        client = harness.client()
        breakers.force_open("rates")
        faults.timeout("rates", times=2)
        assert client.get("/rate").json() == {"rate": None, "stale": True}  # the fallback
        report = harness.problems()
        faults.allow_unused()
    assert "timeout on provider 'rates'" in report
    assert "never triggered" in report
    assert "breakers opened during the test: rates." in report
    assert "An open breaker answers from its fallback without calling the provider" in report


def test_no_breaker_note_when_no_breaker_opened() -> None:
    with Harness() as harness:
        harness.build(rates_app, {})
        faults = harness.fake_providers(PROVIDERS)
        harness.inspect_breakers()
        faults.timeout("rates", times=1)
        report = harness.problems()
        faults.allow_unused()
    assert "never triggered" in report
    assert "breakers opened" not in report
