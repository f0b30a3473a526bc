"""A fixture built on ``hardened_app`` finds what the app's startup made (``app.state``), in a
test that also uses ``hardened_client``: the lifespan runs before the app is handed on."""

from __future__ import annotations

import pytest

CONFTEST = """
from contextlib import asynccontextmanager

import pybreaker
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


@asynccontextmanager
async def lifespan(app):
    app.state.gateway = {"providers": ["openai", "anthropic"]}
    app.state.breakers = {"openai": pybreaker.CircuitBreaker(fail_max=2)}  # made at startup
    yield


async def providers(request):
    return JSONResponse(request.app.state.gateway)


@pytest.fixture
def hardening_app_factory():
    return lambda: Starlette(routes=[Route("/providers", providers)], lifespan=lifespan)


@pytest.fixture
def gateway(hardened_app):
    return hardened_app.state.gateway


@pytest.fixture
def hardening_breakers(hardened_app):
    return hardened_app.state.breakers
"""

TESTS = """
def test_a_fixture_on_the_app_sees_its_startup(gateway, hardened_client):
    assert gateway["providers"] == ["openai", "anthropic"]
    assert hardened_client.get("/providers").json() == gateway


def test_breakers_made_at_startup(hardened_client, breakers):
    assert breakers.state("openai") == "CLOSED"


def test_without_a_client(gateway):
    assert gateway["providers"][0] == "openai"
"""


def test_fixtures_built_on_the_app_see_its_startup(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_gateway=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=3)
