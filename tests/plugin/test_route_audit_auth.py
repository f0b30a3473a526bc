"""An API gateway checks every request's key in a middleware, before routing: a route probe's
401 says nothing of the route, and the route audit read it as the route still reachable. The
probes' credential is the production build's own (``hardening_probe_headers``)."""

from __future__ import annotations

import pytest

CONFTEST = """
import os

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


def create_app():
    keys = {os.environ["API_KEY"]}

    async def require_key(request, call_next):
        if request.headers.get("x-api-key") not in keys:
            return JSONResponse({"error": "api key"}, status_code=401)
        return await call_next(request)

    routes = [Route("/ping", lambda r: PlainTextResponse("pong"))]
    if os.environ.get("APP_ENV") != "production":
        routes.append(Route("/debug", lambda r: PlainTextResponse("debug")))
    middleware = [Middleware(BaseHTTPMiddleware, dispatch=require_key)]
    return Starlette(routes=routes, middleware=middleware)


@pytest.fixture
def hardening_app_factory():
    return create_app

@pytest.fixture
def hardening_dev_env():
    return {"APP_ENV": "development", "API_KEY": "dev-key"}

@pytest.fixture
def hardening_prod_env():
    return {"APP_ENV": "production", "API_KEY": "prod-key"}

@pytest.fixture
def hardening_client_headers():
    return {"X-API-Key": "dev-key"}
"""

TESTS = """
import pytest


def test_a_401_before_routing_is_unproven_not_reachable(route_audit):
    with pytest.raises(AssertionError) as failed:
        route_audit.assert_absent_in_production("/debug")
    message = str(failed.value)
    assert "'/debug' is still not proven absent in production" in message
    assert "GET /debug answered 401 and no production route is declared there" in message
    assert "hardening_probe_headers" in message


def test_a_route_behind_the_middleware_is_still_reachable(route_audit):
    with pytest.raises(AssertionError, match="'/ping' is still reachable"):
        route_audit.assert_absent_in_production("/ping")


class TestWithTheProductionKey:
    @pytest.fixture
    def hardening_probe_headers(self):
        return {"X-API-Key": "prod-key"}

    def test_the_probes_send_it_and_the_route_is_absent(self, route_audit, hardened_client):
        route_audit.assert_absent_in_production("/debug")
        assert hardened_client.get("/debug").text == "debug"  # the clients keep theirs
"""


def test_route_probes_behind_an_api_key_middleware(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_routes=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=3)
