"""Without a clock, the back-off of a library the plugin does not know sleeps for real too:
``ratelib``'s retry loop (``time.sleep`` between attempts, as botocore's) against a refused
host. The
``faults`` fixture watches the ``time.sleep`` calls of the threads serving the test and names
their modules, with the clock as the cure; startup, background threads and the back-off it
already counts are not reported again."""

from __future__ import annotations

import pytest

CONFTEST = """
import contextlib
import time

import pytest
import urllib3
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

import ratelib
import warmup
from tests.plugin._pollers import start_poller
from tests.plugin._sleeps import instant_in


def rates(request):  # sync: a worker thread
    try:
        ratelib.get("https://rates.example.com/eur")
    except urllib3.exceptions.NewConnectionError as error:
        return JSONResponse({"error": type(error).__name__})
    return JSONResponse({"error": None})


def poll(request):  # a poller a library starts, sleeping on its own timing
    start_poller(10, polls=3).join()
    return JSONResponse({"polled": True})


@contextlib.asynccontextmanager
async def lifespan(app):
    warmup.wait_for_the_database()  # the app's startup: not back-off
    yield


@pytest.fixture
def hardening_app_factory():
    return lambda: Starlette(
        routes=[Route("/rates", rates), Route("/poll", poll)], lifespan=lifespan
    )


@pytest.fixture(autouse=True)
def _the_apps_sleeps_take_no_time(monkeypatch):  # the watch still sees what they asked for
    modules = {"ratelib", "warmup", "tests.plugin._pollers"}
    monkeypatch.setattr(time, "sleep", instant_in(modules, time.sleep))
"""

RATELIB = """
import time

import urllib3

POOL = urllib3.PoolManager(retries=False)


def get(url, tries=3, factor=0.5):  # a retry library the plugin does not know
    for attempt in range(tries):
        try:
            return POOL.request("GET", url, timeout=5)
        except urllib3.exceptions.NewConnectionError:
            if attempt + 1 == tries:
                raise
            time.sleep(factor * 2 ** (attempt + 1))
"""

WARMUP = """
import time


def wait_for_the_database():
    time.sleep(0.5)
"""

TESTS = """
import pytest


def test_unknown_back_off_without_a_clock(hardened_client, faults):
    faults.allow_blocked()
    assert hardened_client.get("/rates").json() == {"error": "NewConnectionError"}
    assert faults.real_sleeps == [1.0, 2.0]


def test_a_poller_without_a_clock(hardened_client, faults):
    assert hardened_client.get("/poll").json() == {"polled": True}
    assert faults.real_sleeps == []


def test_under_the_clock_the_clock_names_it(hardened_client, faults, clock):
    faults.allow_blocked()
    hardened_client.get("/rates")
    assert [m for m, _ in clock.real_sleeps] == ["ratelib"] * 2
    # the injector's list has them too (a trial's `faults.real_sleeps == []` passed while the
    # test slept): the test waited for them either way
    assert faults.real_sleeps == [s for _, s in clock.real_sleeps]


class TestNamed:
    @pytest.fixture
    def hardening_backoff_modules(self):
        return ["ratelib"]

    def test_named_under_the_clock(self, hardened_client, faults, clock):
        faults.allow_blocked()
        hardened_client.get("/rates")
        assert faults.retry_sleeps == [1.0, 2.0]
        assert faults.real_sleeps == clock.real_sleeps == []
"""


def test_the_faults_fixture_names_back_off_it_does_not_know(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(warmup=WARMUP, ratelib=RATELIB)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_rates=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=4)
    # The warnings alone: the hardening summary after them sums them up again.
    warnings = result.stdout.str().split("warnings summary")[-1].split("- hardening -")[0]
    result.stdout.fnmatch_lines(
        [
            "*test_unknown_back_off_without_a_clock*",
            "*RealSleepWarning: the app slept 3.00 s for real in 2 time.sleep call(s) from "
            "ratelib (2), in threads the test waits for (the test has no clock): "
            "back-off of a library the plugin does not know*Add the `clock` fixture to the test "
            "and name those modules in hardening_backoff_modules*",
        ]
    )
    for quiet in ("test_a_poller_without_a_clock", "test_named_under_the_clock"):
        assert quiet not in warnings
    assert warnings.count("RealSleepWarning") == 2  # the clock's own, in the third test
