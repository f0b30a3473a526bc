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

from pytest_hardening import AppPool, Harness


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
    assert "the test's last requests to the app: GET /rate -> 200" in report


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
    assert "the test sent the app no request through the hardened clients" in report


def test_what_the_app_answered_is_in_the_report_of_an_unused_fault() -> None:
    """A rate limiter built at import answered 429 before the provider was called."""
    hits: list[int] = []

    def limited_app() -> Starlette:
        def quote(request: Request) -> JSONResponse:
            hits.append(1)
            if len(hits) > 2:
                return JSONResponse({"detail": "slow down"}, status_code=429)
            return JSONResponse(httpx.get("https://rates.example.com/eur", timeout=5).json())

        return Starlette(routes=[Route("/quote", quote)])

    with Harness() as harness:
        harness.build(limited_app, {})
        faults = harness.fake_providers(PROVIDERS)
        client = harness.client()
        for _ in range(2):
            client.get("/quote?token=abc")
        faults.fail("rates", 503)
        client.get("/quote?token=abc")
        report = harness.problems()
        faults.allow_unused()
    assert "GET /quote -> 200, GET /quote -> 200, GET /quote -> 429" in report
    assert "token" not in report  # paths only: queries carry tokens


def test_a_kept_apps_report_has_the_requests_of_the_test_that_took_it() -> None:
    # A trial's: the second test on a kept app was told it "sent the app no request" (and its
    # requests' breaker looks were skipped too): the hooks went on the client it built only.
    pool, apps, reports = AppPool(), [], []
    try:
        for path in ("/rate", "/rate?again"):
            with Harness(pool=pool) as harness:
                harness.build(rates_app, {}, reset=lambda app: None)
                faults = harness.fake_providers(PROVIDERS)
                breakers = harness.inspect_breakers()
                client = harness.client()
                apps.append(harness.app)
                breakers.force_open("rates")
                faults.timeout("rates")
                assert client.get(path).json() == {"rate": None, "stale": True}
                reports.append(harness.problems())
                faults.allow_unused()
    finally:
        pool.close()
    assert apps[0] is apps[1]  # kept, not built again
    for report in reports:
        assert report.endswith(
            "the test's last requests to the app: GET /rate -> 200\nbreakers opened during the "
            "test: rates. An open breaker answers from its fallback without calling the "
            "provider: were the faults armed while it was open?"
        ), report
