"""An app its module wraps in ASGI middleware at import (``app = SentryAsgiMiddleware(app)``)
is used as the app: its routes, OpenAPI document and ``state`` (breakers, APM) are read behind
the wrapper. Before, ``app_from_import`` called it as a factory (its ``__call__`` is set per
instance), and the route audit read no route table: a development route still served in
production passed on a probe alone (a trial's)."""

from __future__ import annotations

import pytest
from sentry_sdk.integrations.asgi import SentryAsgiMiddleware
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import RouteAuditor, route_table

WRAPPED_APP = """
import os

import httpx
import pybreaker
from sentry_sdk.integrations.asgi import SentryAsgiMiddleware
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

breaker = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=30, name="rates")


def fetch():
    httpx.get("https://rates.example.com/eur", timeout=2).raise_for_status()


def rate(request):
    try:
        breaker.call(fetch)
    except (pybreaker.CircuitBreakerError, httpx.HTTPError):
        return JSONResponse({"stale": True})
    return JSONResponse({"stale": False})


app = Starlette(routes=[Route("/rate", rate)])
app.state.breakers = {"rates": breaker}
app = SentryAsgiMiddleware(app)
"""

CONFTEST = """
import httpx
import pytest

from pytest_hardening import app_from_import

THE_APP = app_from_import("wrapped_svc:app")


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_providers():
    return {"rates": ("https://rates.example.com", httpx.Response(200, json={}))}
"""

TESTS = """
def test_the_wrapped_app_serves_and_its_breakers_are_found(hardened_client, faults, breakers):
    assert hardened_client.get("/rate").json() == {"stale": False}
    faults.fail("rates", 503)
    for _ in range(2):
        hardened_client.get("/rate")
    assert breakers.state("rates") == "OPEN"
"""


def test_an_app_wrapped_at_import_is_the_app(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(wrapped_svc=WRAPPED_APP)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_wrapped=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1)


def build(*, production: bool) -> SentryAsgiMiddleware:
    routes = [Route("/health", lambda request: JSONResponse({}))]
    routes.append(Route("/debug/{what}", lambda request: JSONResponse({})))  # left in both
    if not production:
        routes.append(Route("/dev-only", lambda request: JSONResponse({})))
    return SentryAsgiMiddleware(Starlette(routes=routes))


def test_the_route_audit_reads_the_routes_behind_the_wrapper() -> None:
    assert ("GET", "/debug/{what}") in route_table(build(production=True))
    audit = RouteAuditor(lambda: build(production=False), lambda: build(production=True))
    assert audit.dev_only() == {("GET", "/dev-only")}
    with pytest.raises(AssertionError, match=r"route table has GET /debug/\{what\}"):
        audit.assert_absent_in_production("/debug")


def test_an_object_that_only_wraps_is_itself() -> None:
    class Shell:
        def __init__(self) -> None:
            self.app = self  # no loop

    assert route_table(Shell()) == set()


def test_a_kept_wrapped_app_a_test_changed_is_not_kept() -> None:
    # What a test replaced on the app behind the wrapper (its state) is what the pool compares.
    from pytest_hardening import AppPool, Harness

    def factory() -> SentryAsgiMiddleware:
        return build(production=False)

    pool, apps = AppPool(), []
    try:
        for change in (True, False):
            with Harness(pool=pool) as harness:
                harness.build(factory, {}, reset=lambda app: None)
                assert harness.client().get("/health").status_code == 200
                apps.append(harness.app)
                if change:
                    harness.app.app.state.cache = object()  # the inner app's, behind the wrapper
    finally:
        pool.close()
    assert apps[0] is not apps[1]  # shut down, not handed to the next test
