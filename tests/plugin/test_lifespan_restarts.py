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
