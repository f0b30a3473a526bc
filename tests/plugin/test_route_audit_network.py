"""The route_audit fixture's probes run the app's real handlers with production settings:
its registered providers answer in memory, and any other connection off the machine is
refused and fails the test, as under the other hardening fixtures."""

from __future__ import annotations

import pytest

CONFTEST = """
import os

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

SEEN = []


def create_app():
    def call(url):
        def endpoint(request):
            try:
                SEEN.append(f"answered {httpx.get(url, timeout=2).status_code}")
            except httpx.HTTPError as error:
                SEEN.append(type(error).__name__)
            return JSONResponse({})
        return endpoint

    routes = [Route("/quote", call("https://prices.example.com/p")),
              Route("/leak", call("https://elsewhere.example.net/x"))]
    if os.environ.get("APP_ENV") != "production":
        routes.append(Route("/debug/quote", call("https://prices.example.com/p")))
    return Starlette(routes=routes)


@pytest.fixture
def hardening_app_factory():
    return create_app

@pytest.fixture
def hardening_dev_env():
    return {"APP_ENV": "development"}

@pytest.fixture
def hardening_prod_env():
    return {"APP_ENV": "production"}

@pytest.fixture
def hardening_providers():
    return {"prices": "https://prices.example.com"}
"""

TESTS = """
import pytest
from conftest import SEEN


def test_a_registered_provider_answers_the_probe_in_memory(route_audit):
    SEEN.clear()
    route_audit.assert_absent_in_production("/debug")
    with pytest.raises(AssertionError, match="GET /quote answered 200"):
        route_audit.assert_absent_in_production("/quote")
    assert SEEN == ["answered 200"]


def test_any_other_host_is_refused_and_reported(route_audit):
    SEEN.clear()
    with pytest.raises(AssertionError, match="GET /leak answered 200"):
        route_audit.assert_absent_in_production("/leak")
    assert SEEN == ["UnregisteredHostError"]  # an httpx.ConnectError, never sent
"""


def test_route_probes_stay_on_the_machine(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_routes=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_any_other_host_is_refused_and_reported*",
            "*elsewhere.example.net*",
        ]
    )


PINGING_CONFTEST = """
import os
import socket

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


def create_app():
    routes = [Route("/health", lambda request: JSONResponse({}))]
    if os.environ["APP_ENV"] == "production":
        try:  # a cache pinged as the app is made, a memory fallback when it is down
            socket.create_connection((os.environ["CACHE_HOST"], 6379), timeout=1).close()
        except OSError:
            pass
    else:
        routes.append(Route("/debug", lambda request: JSONResponse({})))
    return Starlette(routes=routes)


@pytest.fixture
def hardening_app_factory():
    return create_app

@pytest.fixture
def hardening_dev_env():
    return {"APP_ENV": "development", "CACHE_HOST": "127.0.0.1"}

@pytest.fixture
def hardening_prod_env():
    return {"APP_ENV": "production", "CACHE_HOST": "cache.prod.example.com"}
"""


def test_the_production_builds_own_connections_are_the_audits(pytester: pytest.Pytester) -> None:
    # A production env naming production's hosts, as the docs allow: the production build's
    # refused ping failed every route_audit test at teardown, charged to the test (a trial's).
    pytester.makeconftest(PINGING_CONFTEST)
    pytester.makepyfile(
        test_routes="""
        def test_dev_only(route_audit):
            assert route_audit.dev_only() == {("GET", "/debug")}
            route_audit.assert_absent_in_production("/debug")
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1)
