"""Routes an app adds in its startup (LNbits includes its routers in its lifespan) are served
in production, where the server runs the startup: the production route table is read with it
run. Read from the build alone, a route production serves was said absent (a trial's app)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter, FastAPI

from pytest_hardening import RouteAuditor

router = APIRouter()


@router.get("/api/v1/rate/{currency}")
async def rate(currency: str) -> dict[str, str]:
    return {"currency": currency}


def app_adding_its_routes_at_startup(*, broken: bool = False) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if broken:
            raise ConnectionRefusedError("the database is not running here")
        app.include_router(router)
        yield

    return FastAPI(lifespan=lifespan)


def test_a_route_the_startup_adds_is_not_said_absent_in_production() -> None:
    auditor = RouteAuditor(app_adding_its_routes_at_startup, app_adding_its_routes_at_startup)
    with pytest.raises(AssertionError) as failure:
        auditor.assert_absent_in_production("/api/v1/rate")
    assert "route table has GET /api/v1/rate/{currency}" in str(failure.value)
    assert auditor.dev_only() == set()


def test_a_startup_that_fails_leaves_the_routes_as_built() -> None:
    def build() -> FastAPI:
        return app_adding_its_routes_at_startup(broken=True)

    auditor = RouteAuditor(build, build)
    assert ("GET", "/api/v1/rate/{currency}") not in auditor.prod_routes()
    auditor.assert_absent_in_production("/api/v1/rate")  # never added: absent


CONFTEST = """
import contextlib
import os
import socket

import pytest
from fastapi import APIRouter, FastAPI

debug = APIRouter()


@debug.get("/debug/env")
async def env():
    return {}


def create_app():
    @contextlib.asynccontextmanager
    async def lifespan(app):
        with contextlib.suppress(OSError):  # pings its cache, as the app's own check
            socket.create_connection((os.environ["REDIS_HOST"], 6379), timeout=1).close()
        app.include_router(debug)  # in every mode: the finding
        yield

    return FastAPI(lifespan=lifespan)


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_dev_env():
    return {"REDIS_HOST": "127.0.0.1"}


@pytest.fixture
def hardening_prod_env():
    return {"REDIS_HOST": "cache.prod.example.com"}
"""

TESTS = """
import pytest


def test_the_startup_routes_are_found(route_audit):
    with pytest.raises(AssertionError, match="route table has GET /debug/env"):
        route_audit.assert_absent_in_production("/debug")
    assert route_audit.startup_stopped is None
"""


def test_the_audits_own_startup_run_is_not_the_tests_traffic(pytester: pytest.Pytester) -> None:
    # The production startup the audit ran tried the production cache: refused, and reported
    # as the test's own attempt at teardown, every route_audit test of the app erred (a trial's).
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_routes=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1)
