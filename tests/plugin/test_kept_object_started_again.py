"""An app built once at import (``app_from_import``) is one object: kept running for the tests
of one environment, it is also what another environment's test, or an async test, gets. It
cannot run two lifespans at once, so the kept one is shut down first (a trial's bot app failed
with "Application is already running")."""

from __future__ import annotations

import pytest

APP = """
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

RUNNING = []


@asynccontextmanager
async def lifespan(app):
    if RUNNING:
        raise RuntimeError("already running")  # as a bot's Application says
    RUNNING.append(app)
    try:
        yield
    finally:
        RUNNING.pop()


async def ok(request):
    return PlainTextResponse("ok")


app = Starlette(routes=[Route("/", ok)], lifespan=lifespan)
"""

TESTS = """
import pytest

from pytest_hardening import app_from_import

THE_APP = app_from_import("once_app:app")


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_dev_env(request):
    return {"DATA_DIR": request.node.name}  # another environment each test: a new pool key


@pytest.fixture
def hardening_app_reset():
    return lambda app: None


def test_one(hardened_client):
    assert hardened_client.get("/").text == "ok"


def test_two(hardened_client):
    assert hardened_client.get("/").text == "ok"


@pytest.mark.anyio
async def test_async(hardened_async_client):
    assert (await hardened_async_client.get("/")).text == "ok"


@pytest.fixture
def anyio_backend():
    return "asyncio"
"""


def test_a_kept_object_built_again_is_shut_down_before_it_starts_again(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(once_app=APP, test_once=TESTS)
    pytester.syspathinsert()
    result = pytester.runpytest("-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio")
    result.assert_outcomes(passed=3)
