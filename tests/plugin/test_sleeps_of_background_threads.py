"""A background thread the app or a library started (aws-xray-sdk's sampling pollers) sleeps
on its own timing: the test never waits for it. Its sleeps are kept apart from the back-off of
the threads that serve the test, and never reported as the app's back-off."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import anyio
import anyio.from_thread
import anyio.to_thread
import pytest

from pytest_hardening import Clock
from pytest_hardening._sleep_watch import RealSleep

from . import _pollers

HERE = _pollers.__name__


def test_the_threads_that_serve_the_test_and_the_others() -> None:
    with Clock() as clock:
        _pollers.back_off(0.001)  # the test's own thread
        with ThreadPoolExecutor(1) as pool:  # an executor the app awaits
            pool.submit(_pollers.back_off, 0.002).result()
        anyio.run(anyio.to_thread.run_sync, _pollers.back_off, 0.003)  # a sync endpoint's
        with anyio.from_thread.start_blocking_portal() as portal:  # the app's event loop
            portal.call(_pollers.back_off, 0.004)
        _pollers.start_poller(0.005, polls=2).join()
    assert clock.real_sleeps == [RealSleep(HERE, s) for s in (0.001, 0.002, 0.003, 0.004)]
    assert clock.background_sleeps == [RealSleep(HERE, 0.005)] * 2


POLLER = '''
"""Stands for aws_xray_sdk's sampling pollers: a daemon thread, started on first use."""
import threading
import time

DONE = threading.Event()


def _poll():
    for _ in range(3):
        time.sleep(10)
    DONE.set()


def start():
    DONE.clear()
    threading.Thread(target=_poll, daemon=True, name="sampling-poller").start()
'''

SLOW_SDK = """
import time


def fetch():
    for attempt in range(2):
        time.sleep(0.2 * 2**attempt)  # a back-off the plugin does not know
    return "ok"
"""

CONFTEST = """
import time

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

import poller
import slow_sdk
from tests.plugin._sleeps import instant_in


def ping(request):  # sync: a worker thread; the poller starts on first use, as xray's does
    poller.start()
    return JSONResponse({"ok": True})


def quote(request):
    return JSONResponse({"quote": slow_sdk.fetch()})


@pytest.fixture
def hardening_app_factory():
    return lambda: Starlette(routes=[Route("/ping", ping), Route("/quote", quote)])


@pytest.fixture(autouse=True)
def _the_apps_sleeps_take_no_time(monkeypatch):  # the watch still sees what they asked for
    monkeypatch.setattr(time, "sleep", instant_in({"poller", "slow_sdk"}, time.sleep))
"""

TESTS = """
import poller


def test_a_poller_is_not_waited_for(hardened_client, clock):
    assert hardened_client.get("/ping").json() == {"ok": True}
    assert poller.DONE.wait(5)
    assert clock.real_sleeps == []
    assert [(m, s) for m, s in clock.background_sleeps] == [("poller", 10.0)] * 3


def test_a_back_off_beside_a_poller(hardened_client, clock):
    assert hardened_client.get("/ping").json() == {"ok": True}
    assert hardened_client.get("/quote").json() == {"quote": "ok"}
    assert poller.DONE.wait(5)
"""


def test_only_the_sleeps_the_test_waits_for_are_warned_of(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(poller=POLLER, slow_sdk=SLOW_SDK)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_app=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=2)
    warnings = result.stdout.str().split("warnings summary")[-1]
    assert "test_a_poller_is_not_waited_for" not in warnings
    result.stdout.fnmatch_lines(
        [
            "*test_a_back_off_beside_a_poller*",
            "*RealSleepWarning: the app slept 0.60 s for real while the clock was frozen, in 2 "
            "time.sleep call(s) from slow_sdk (2), in threads the test waits for *Name those "
            "modules in hardening_backoff_modules*. Background threads the app or a library "
            "started also asked for 30.00 s of sleep, from poller (3): a poller's own timing, "
            "which the test does not wait for, not back-off; leave those modules out of "
            "hardening_backoff_modules*",
        ]
    )


STARTUP_SYNC = """
import threading
import time

GO, DONE = threading.Event(), threading.Event()


def sync_with_retries():
    GO.wait(5)  # the test's set-up is done: what it records is the test's
    for attempt in range(3):  # the provider is down: 3 s, 9 s, 27 s between attempts
        time.sleep(3 * 3**attempt)
    DONE.set()


def start():  # the lifespan starts it, as an app's startup sync
    threading.Thread(target=sync_with_retries, name="StartupSync", daemon=True).start()
"""

SYNC_CONFTEST = """
import contextlib
import time

import pytest
from starlette.applications import Starlette

import startup_sync
from tests.plugin._sleeps import instant_in


@contextlib.asynccontextmanager
async def lifespan(app):
    startup_sync.start()
    yield


@pytest.fixture
def hardening_app_factory():
    return lambda: Starlette(lifespan=lifespan)


@pytest.fixture
def hardening_backoff_modules():
    return ["startup_sync"]


@pytest.fixture(autouse=True)
def _the_apps_sleeps_take_no_time(monkeypatch):  # the watch still sees what they asked for
    monkeypatch.setattr(time, "sleep", instant_in({"startup_sync"}, time.sleep))
"""


def test_a_named_back_off_module_sleeping_on_the_apps_own_thread_is_said(
    pytester: pytest.Pytester,
) -> None:
    # The user named the module to make its back-off virtual; on a thread the app started
    # for itself it kept real time, and the test that waited for it waited 39 s in silence.
    pytester.makepyfile(startup_sync=STARTUP_SYNC)
    pytester.makeconftest(SYNC_CONFTEST)
    pytester.makepyfile(
        test_sync="""
        import startup_sync


        def test_the_startup_sync_finishes(clock, hardened_client):
            startup_sync.GO.set()
            assert startup_sync.DONE.wait(5)
        """
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "*RealSleepWarning: hardening_backoff_modules names modules whose sleeps ran on a "
            "thread the app started for itself: 39.00 s asked for, in 3 time.sleep call(s) "
            "from startup_sync (3), in real time.*Call that work from the test*"
        ]
    )
