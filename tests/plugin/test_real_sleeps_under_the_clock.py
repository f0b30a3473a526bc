"""A library the plugin does not know that sleeps for real between retries makes the test wait
while the clock stands still: the ``clock`` fixture names the module (``RealSleepWarning``),
and naming it in ``hardening_backoff_modules`` makes its sleeps virtual."""

from __future__ import annotations

import time

import pytest

from pytest_hardening import Clock, FaultInjector

from . import _pollers

SLOW_SDK = '''
"""A client library with its own retries, as botocore's: ``time.sleep`` between attempts."""
import time

import httpx


def fetch(url):
    for attempt in range(3):
        response = httpx.get(url)
        if response.status_code < 500:
            return response
        time.sleep(0.2 * 2**attempt)
    return response
'''

CONFTEST = """
import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

import slow_sdk
from pytest_hardening import Provider


def quote(request):
    response = slow_sdk.fetch("https://quotes.example.com/price")
    return JSONResponse({"status": response.status_code})


@pytest.fixture
def hardening_app_factory():
    return lambda: Starlette(routes=[Route("/quote", quote)])


@pytest.fixture
def hardening_providers():
    return {"quotes": Provider("https://quotes.example.com", httpx.Response(200, json={}))}
"""

TESTS = """
import time

import pytest


def test_unknown_back_off(hardened_client, faults, clock):
    faults.fail("quotes", 503, times=2)
    assert hardened_client.get("/quote").json() == {"status": 200}
    assert [m for m, _ in clock.real_sleeps] == ["slow_sdk", "slow_sdk"]
    assert [s for _, s in clock.real_sleeps] == [0.2, 0.4]


def test_the_tests_own_sleeps_are_its_own(hardened_client, faults, clock):
    time.sleep(0.3)  # a test waiting for something real
    assert clock.real_sleeps == []


class TestNamed:
    @pytest.fixture
    def hardening_backoff_modules(self):
        return ["slow_sdk"]

    def test_named_it_moves_the_clock(self, hardened_client, faults, clock):
        faults.fail("quotes", 503, times=2)
        assert hardened_client.get("/quote").json() == {"status": 200}
        assert clock.real_sleeps == []
        assert faults.retry_sleeps == [0.2, 0.4]
"""


def test_the_clock_fixture_names_a_library_that_slept_for_real(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(slow_sdk=SLOW_SDK)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_quotes=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=3)
    warnings = result.stdout.str().split("warnings summary")[-1]
    result.stdout.fnmatch_lines(
        [
            "*test_unknown_back_off*",
            "*RealSleepWarning: the app slept 0.60 s for real while the clock was frozen, in 2 "
            "time.sleep call(s) from slow_sdk (2)*",
        ]
    )
    assert "test_named_it_moves_the_clock" not in warnings
    assert "test_the_tests_own_sleeps_are_its_own" not in warnings


def test_nothing_is_left_on_time_sleep() -> None:
    real = time.sleep
    with Clock() as clock:
        assert time.sleep is not real
        with clock.paused():
            time.sleep(0)  # real time inside: not recorded
    assert time.sleep is real
    assert clock.real_sleeps == []


def test_under_the_faults_own_watch_the_clock_still_names_the_module() -> None:
    # The injector watches real sleeps too (while it has no clock): started after the clock,
    # its wrapper is the one the app calls, and the clock's, inside it, must see past it.
    real = time.sleep
    with Clock() as clock, FaultInjector({}, clock=clock) as faults:
        _pollers.back_off(0.001)
    assert [m for m, _ in clock.real_sleeps] == [_pollers.__name__]
    # Recorded once, by the clock; the injector's list has it too: the test waited for it.
    assert faults.real_sleeps == [0.001]
    assert time.sleep is real


def test_stopped_out_of_order_nothing_is_left_on_time_sleep() -> None:
    real = time.sleep
    clock = Clock().start()
    faults = FaultInjector({}, clock=clock).start()
    clock.stop()  # under the injector's wrapper
    faults.stop()
    assert time.sleep is real


@pytest.mark.parametrize("cache", [False, True], ids=["alone", "session cache"])
def test_a_sleep_bound_at_import_is_named_too(cache: bool) -> None:
    # `from time import sleep` in a module imported before the clock started (kombu's retries
    # of a broker the guard refused): the test waited 19 s and real_sleeps said nothing.
    from pytest_hardening._clock_cache import ClockCache

    bound = _pollers.sleep
    clock_cache = ClockCache() if cache else None
    for _ in range(2):  # a second clock of the session finds the module again
        with Clock(cache=clock_cache) as clock, FaultInjector({}, clock=clock) as faults:
            _pollers.back_off_bound(0.001)
        assert clock.real_sleeps == [(_pollers.__name__, 0.001)]
        assert faults.real_sleeps == [0.001]
        assert _pollers.sleep is bound is time.sleep  # pointed back
