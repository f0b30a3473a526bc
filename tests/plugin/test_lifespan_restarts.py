"""An app object started and stopped in every test (no reset keeps it): a lifespan error after
the first says so (a trial's app closed at shutdown a session manager it made at import;
another registered its metrics again at each startup: "Duplicated timeseries")."""

from __future__ import annotations

import pytest

POOLED_APP = """
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


class Pool:
    closed = False

    def close(self):
        if self.closed:
            raise RuntimeError("Pool has been closed.")
        self.closed = True


pool = Pool()  # made at import, as production makes it once


@asynccontextmanager
async def lifespan(app):
    yield
    pool.close()


async def ping(request):
    return JSONResponse({"closed": pool.closed})


app = Starlette(routes=[Route("/ping", ping)], lifespan=lifespan)
"""

TESTS = """
import pytest

from pooled_restart_app import app


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def hardening_app_factory():
    return lambda: app  # one object for every test, as an app built at import is


@pytest.mark.anyio
async def test_first(hardened_async_client):
    assert (await hardened_async_client.get("/ping")).json() == {"closed": False}


@pytest.mark.anyio
async def test_second(hardened_async_client):
    assert (await hardened_async_client.get("/ping")).json() == {"closed": True}
"""


def test_a_shutdown_that_fails_the_second_time_is_told_the_app_ran_before(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(pooled_restart_app=POOLED_APP, test_pooled_restart=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=2, errors=1)
    output = result.stdout.str()
    assert "ERROR test_pooled_restart.py::test_second" in output
    assert "shutdown failed: RuntimeError: Pool has been closed." in output
    assert "this app object (Starlette) ran its lifespan 1 time(s) in earlier tests" in output
    # The cure for async tests (a trial's was told to give a reset it had given already).
    assert "no hardening_app_reset keeps it between async tests" in output
    assert "even `lambda app: None`" not in output


SYNC_TESTS = """
import pytest

from pooled_restart_sync_app import app


@pytest.fixture
def hardening_app_factory():
    return lambda: app


def test_first(hardened_client):
    assert hardened_client.get("/ping").json() == {"closed": False}


def test_second(hardened_client):
    assert hardened_client.get("/ping").json() == {"closed": True}
"""


def test_the_sync_client_tells_the_same(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(pooled_restart_sync_app=POOLED_APP, test_pooled_sync=SYNC_TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=2, errors=1)
    output = result.stdout.str()
    assert "ERROR test_pooled_sync.py::test_second" in output
    assert "Pool has been closed." in output
    assert "this app object (Starlette) ran its lifespan 1 time(s) in earlier tests" in output
    assert "give a hardening_app_reset (even `lambda app: None`)" in output


CLOSING_APP = """
from contextlib import asynccontextmanager

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

client = httpx.AsyncClient()  # made at import, closed at shutdown: production starts once


@asynccontextmanager
async def lifespan(app):
    yield
    await client.aclose()


async def work(request):
    try:
        answer = await client.get("https://up.example/v")
    except Exception:  # the app logs and answers 500, as trial apps did
        return JSONResponse({"ok": False}, status_code=500)
    return JSONResponse({"ok": answer.status_code == 200})


app = Starlette(routes=[Route("/w", work)], lifespan=lifespan)
"""

CLOSING_CONFTEST = """
import httpx
import pytest

from pytest_hardening import Provider, app_from_import

THE_APP = app_from_import("closing_app:app")


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_providers():
    return {"up": Provider("https://up.example", lambda request: httpx.Response(200))}
"""

CLOSING_TESTS = """
def test_first(hardened_client, faults):
    assert hardened_client.get("/w").json() == {"ok": True}


def test_second_outage(hardened_client, faults):
    faults.fail("up", 503)
    assert hardened_client.get("/w").json() == {"ok": False}  # 503, or the closed client
"""


def _closing_run(pytester: pytest.Pytester, tests: str, conftest: str = "") -> pytest.RunResult:
    pytester.makepyfile(closing_app=CLOSING_APP, test_closing=tests)
    pytester.makeconftest(CLOSING_CONFTEST + conftest)
    return pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )


def test_a_fault_no_call_met_names_the_client_an_earlier_shutdown_closed(
    pytester: pytest.Pytester,
) -> None:
    # Trials: 8 of 9 tests of an app built at import failed so, told ten causes but this one.
    result = _closing_run(pytester, CLOSING_TESTS)
    result.assert_outcomes(passed=2, errors=1)
    output = result.stdout.str()
    assert "fail on provider 'up' (status=503): never triggered: the app sent 1 request(s)" in (
        output
    )
    assert "through an httpx client it had already closed" in output
    assert "this app object (Starlette) ran its lifespan 1 time(s) in earlier tests" in output
    assert "as the httpx client above was" in output
    assert "give a hardening_app_reset (even `lambda app: None`)" in output
    assert "an HTTP cache (hishel)" not in output  # the cause is known: no checklist


SEND_WRAPPED = """

@pytest.fixture(autouse=True, scope="session")
def send_wrapped_as_sentry_does():
    # Sentry's httpx integration replaces AsyncClient.send for the rest of the process.
    original = httpx.AsyncClient.__dict__["send"]

    async def send(client, request, **kwargs):
        return await original(client, request, **kwargs)

    httpx.AsyncClient.send = send
    yield
    httpx.AsyncClient.send = original
"""


def test_a_client_whose_send_another_library_wrapped_is_watched_too(
    pytester: pytest.Pytester,
) -> None:
    result = _closing_run(pytester, CLOSING_TESTS, SEND_WRAPPED)
    result.assert_outcomes(passed=2, errors=1)
    assert "through an httpx client it had already closed" in result.stdout.str()


def test_the_cure_it_names_keeps_the_client_open(pytester: pytest.Pytester) -> None:
    reset = """

@pytest.fixture
def hardening_app_reset():
    return lambda app: None
"""
    _closing_run(pytester, CLOSING_TESTS, reset).assert_outcomes(passed=2)


ASYNC_CLOSING_TESTS = """
import pytest


@pytest.mark.anyio
async def test_first(hardened_async_client, faults):
    assert (await hardened_async_client.get("/w")).json() == {"ok": True}


@pytest.mark.anyio
async def test_second_outage(hardened_async_client, faults):
    faults.fail("up", 503)
    assert (await hardened_async_client.get("/w")).json() == {"ok": False}
"""


def test_async_tests_are_told_their_own_cure(pytester: pytest.Pytester) -> None:
    result = _closing_run(pytester, ASYNC_CLOSING_TESTS)
    result.assert_outcomes(passed=2, errors=1)
    output = result.stdout.str()
    assert "through an httpx client it had already closed" in output
    assert "ran its lifespan 1 time(s) in earlier tests" in output
    assert "make such a client in the startup (app.state)" in output
    assert "even `lambda app: None`" not in output


OTHER_CLIENT_APP = """
import urllib.request
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


@asynccontextmanager
async def lifespan(app):  # opens what it needs at every startup: restarting costs nothing
    yield


async def work(request):
    try:  # a client the faults do not reach
        urllib.request.urlopen("https://up.example/v", timeout=2)
    except OSError:
        return JSONResponse({"ok": False}, status_code=500)
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/w", work)], lifespan=lifespan)
"""


def test_a_fault_another_client_explains_gets_no_lifespan_story(
    pytester: pytest.Pytester,
) -> None:
    # The report said why (urllib, which faults do not reach), then added that the app's
    # lifespan ran in earlier tests: a cause it was not (a trial's aiohttp app).
    pytester.makepyfile(closing_app=OTHER_CLIENT_APP, test_closing=CLOSING_TESTS)
    pytester.makeconftest(CLOSING_CONFTEST)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    output = result.stdout.str()
    assert "never triggered: the app called its host through urllib" in output
    assert "ran its lifespan" not in output
