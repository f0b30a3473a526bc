"""``@pytest.mark.hardening_clock(start)``: the clock starts at a chosen instant (a maintenance
window, business hours, a month's end), for the test and the app alike."""

from __future__ import annotations

import pytest

CONFTEST = """
import datetime as dt

import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


def now(request):
    return JSONResponse({"now": dt.datetime.now(dt.timezone.utc).isoformat()})


@pytest.fixture
def hardening_app_factory():
    return lambda: Starlette(routes=[Route("/now", now)])
"""

TESTS = """
import datetime as dt
import time

import pytest

SUNDAY_EVENING_PACIFIC = "2026-01-04T19:30:00-08:00"


@pytest.mark.hardening_clock(SUNDAY_EVENING_PACIFIC)
def test_the_app_and_the_test_start_at_the_instant(hardened_client, clock):
    start = dt.datetime.fromisoformat(SUNDAY_EVENING_PACIFIC)
    assert clock.now() == start
    assert hardened_client.get("/now").json()["now"] == "2026-01-05T03:30:00+00:00"
    before = time.monotonic()
    clock.advance(45 * 60)
    assert dt.datetime.now(dt.timezone.utc) == start + dt.timedelta(minutes=45)
    assert time.monotonic() - before == 45 * 60


@pytest.mark.hardening_clock(start=dt.datetime(2026, 1, 31, 23, 59, 59))
def test_a_naive_start_is_utc(clock):
    assert clock.now() == dt.datetime(2026, 1, 31, 23, 59, 59, tzinfo=dt.timezone.utc)
    clock.advance(1)
    assert dt.date.today() == dt.date(2026, 2, 1)


def test_without_the_marker_the_clock_starts_now(clock):
    frozen = clock.now()
    with clock.paused():  # real time inside
        real = dt.datetime.now(dt.timezone.utc)
    assert dt.timedelta(0) <= real - frozen < dt.timedelta(minutes=10)


@pytest.mark.hardening_clock("next sunday")
def test_a_bad_start(clock):
    pass
"""


def test_the_clock_starts_where_the_marker_says(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_start=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=3, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.hardening_clock: 'next sunday' is not an ISO 8601 date and time*",
        ]
    )
