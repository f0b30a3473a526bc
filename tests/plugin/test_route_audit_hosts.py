"""route_audit's probes send hardening_client_headers (an app that allows only its own Host
answers 400 to ``testserver``), and a 400 before routing is "not proven absent", never
"reachable"."""

from __future__ import annotations

import pytest

APP = """
import os

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route


def create_app():
    routes = [Route("/", lambda r: PlainTextResponse("home"))]
    if os.environ.get("APP_ENV") != "production":
        routes.append(Route("/debug/env", lambda r: PlainTextResponse("env")))
    hosts = Middleware(TrustedHostMiddleware, allowed_hosts=["shop.example"])
    return Starlette(routes=routes, middleware=[hosts])


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_prod_env():
    return {"APP_ENV": "production"}
"""

TESTS = """
def test_absent(route_audit):
    route_audit.assert_absent_in_production("/debug")
"""


@pytest.mark.parametrize("with_host", [True, False])
def test_the_probes_send_the_client_headers(pytester: pytest.Pytester, with_host: bool) -> None:
    headers = '{"Host": "shop.example"}' if with_host else "{}"
    pytester.makeconftest(
        APP + f"\n\n@pytest.fixture\ndef hardening_client_headers():\n    return {headers}\n"
    )
    pytester.makepyfile(test_routes=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    if with_host:
        result.assert_outcomes(passed=1)
    else:
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(
            [
                "*'/debug' is still not proven absent in production*",
                "*GET /debug answered 400 before any route was chosen*",
            ]
        )
        result.stdout.no_fnmatch_line("*still reachable*")


OWN_400 = """
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route


async def simulate(request):  # registered in every mode: refuses an event it does not know
    return JSONResponse({"error": "unknown event"}, status_code=400)


def create_app():
    routes = [Route("/", lambda r: PlainTextResponse("home"))]
    return Starlette(routes=[*routes, Route("/simulate/{event}", simulate, methods=["POST"])])


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_prod_env():
    return {"APP_ENV": "production"}
"""


def test_a_declared_routes_own_400_is_reachable_not_a_host_problem(
    pytester: pytest.Pytester,
) -> None:
    # The route table has the route: its 400 is its own answer to the probe's made-up value,
    # not a Host refused before routing (a trial's webhook simulator).
    pytester.makeconftest(OWN_400)
    pytester.makepyfile(
        test_routes="""
        def test_absent(route_audit):
            route_audit.assert_absent_in_production("/simulate")
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*'/simulate' is still reachable in production*",
            "*route table has POST /simulate/{event}*",
            "*POST /simulate/1 answered 400, expected 404*",
        ]
    )
    result.stdout.no_fnmatch_line("*before any route was chosen*")
