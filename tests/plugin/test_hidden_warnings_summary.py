"""The run's summary says what the ``RealSleepWarning``s and ``LoopDeadlineWarning``s said, in a
line each: they are ``UserWarning``s, and a project's ``filterwarnings = ignore::UserWarning``
(or ``-W ignore``) hides them. A trial's endpoint slept 58 s for real in a library's retries and
passed in silence, the summary saying only "provider calls: 0; faults set: none"."""

from __future__ import annotations

import pytest

BACKOFFS = """
import time


def retry():  # the app's own back-off loop, in no module named for virtual back-off
    for _ in range(3):
        time.sleep(0.4)
"""

APP = """
import asyncio

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

import backoffs


def retried(request):  # sync: a worker thread the test waits for
    backoffs.retry()
    return JSONResponse({"ok": True})


async def capped(request):  # the app's own cap, on the event loop's time
    try:
        async with asyncio.timeout(5):
            async with httpx.AsyncClient(timeout=60) as http:
                status = (await http.get("https://quotes.example/q")).status_code
            return JSONResponse({"status": status})
    except TimeoutError:
        return JSONResponse({"status": "cut"})


def build():
    return Starlette(
        routes=[
            Route("/retried", retried),
            Route("/capped", capped),
            Route("/ok", lambda request: JSONResponse({"ok": True})),
        ]
    )
"""

CONFTEST = """
import sys
import time

import httpx
import pytest

import quotes
from pytest_hardening import Provider

_real_sleep = time.sleep


def _instant_for_backoffs(seconds):  # the watch around it still sees what was asked for
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_globals.get("__name__") == "backoffs":
            return _real_sleep(0)
        frame = frame.f_back
    return _real_sleep(seconds)


@pytest.fixture(autouse=True)
def _backoffs_take_no_time(monkeypatch):
    monkeypatch.setattr(time, "sleep", _instant_for_backoffs)


@pytest.fixture
def hardening_app_factory():
    return quotes.build


@pytest.fixture
def hardening_dev_env():
    return {}


@pytest.fixture
def hardening_providers():
    return {"quotes": Provider("https://quotes.example", lambda r: httpx.Response(200))}
"""

TESTS = """
import pytest


@pytest.mark.parametrize("n", range(N))
def test_slept_without_a_clock(hardened_client, faults, n):
    assert hardened_client.get("/retried").json() == {"ok": True}


def test_slept_under_the_clock(hardened_client, faults, clock):
    assert hardened_client.get("/retried").json() == {"ok": True}


def test_past_the_cap(hardened_client, faults, clock):
    faults.latency("quotes", 8)
    assert hardened_client.get("/capped").json() == {"status": 200}


def test_quiet(hardened_client, faults, clock):
    assert hardened_client.get("/ok").json() == {"ok": True}
"""

SLEPT = (
    "slept for real: {seconds} s in {tests} test(s), from backoffs {seconds} s; add the `clock` "
    "fixture, and name back-off modules in hardening_backoff_modules (RealSleepWarning: "
    "docs/fixtures.md, `clock`)"
)
PASSED = (
    "loop deadlines the clock passed unfired: 1 in 1 test(s); give the client its own "
    "httpx.Timeout under them (LoopDeadlineWarning: docs/fixtures.md, `clock`)"
)
ARGS = ("-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:cacheprovider")


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makepyfile(backoffs=BACKOFFS, quotes=APP)
    pytester.makeconftest(CONFTEST)
    return pytester


def test_the_summary_shows_what_filtered_warnings_hid(project: pytest.Pytester) -> None:
    project.makepyfile(test_app=TESTS.replace("range(N)", "range(1)"))
    result = project.runpytest_inprocess(
        *ARGS, "-p", "no:asyncio", "-W", "ignore::UserWarning", "-p", "no:hypothesispytest"
    )
    result.assert_outcomes(passed=4)
    assert "warnings summary" not in result.stdout.str()  # the filter hid every warning
    result.stdout.fnmatch_lines(["*- hardening -*", "4 test(s) used hardening fixtures*"])
    result.stdout.fnmatch_lines(
        [
            "Sentry events captured: 0; audit findings: 0",
            SLEPT.format(seconds="2.40", tests=2),  # the faults' watch's, and the clock's
            PASSED,
        ],
        consecutive=True,
    )


def test_no_line_without_real_sleeps_or_passed_deadlines(project: pytest.Pytester) -> None:
    project.makepyfile(test_app=TESTS.replace("range(N)", "range(1)"))
    result = project.runpytest_inprocess(
        *ARGS, "-p", "no:asyncio", "-p", "no:hypothesispytest", "-k", "quiet"
    )
    result.assert_outcomes(passed=1, deselected=3)
    result.stdout.fnmatch_lines(["1 test(s) used hardening fixtures (0 not passed)"])
    assert "slept for real" not in result.stdout.str()
    assert "loop deadlines" not in result.stdout.str()


def test_tests_that_had_the_clock_are_not_told_to_add_it(project: pytest.Pytester) -> None:
    # A trial's test slept under the clock, and the summary said "add the `clock` fixture".
    project.makepyfile(test_app=TESTS.replace("range(N)", "range(1)"))
    result = project.runpytest_inprocess(
        *ARGS, "-p", "no:asyncio", "-p", "no:hypothesispytest", "-k", "under_the_clock"
    )
    result.assert_outcomes(passed=1, deselected=3)
    result.stdout.fnmatch_lines(
        [
            "slept for real: 1.20 s in 1 test(s), from backoffs 1.20 s; name back-off modules "
            "in hardening_backoff_modules (RealSleepWarning: docs/fixtures.md, `clock`)"
        ]
    )


@pytest.mark.slow
def test_xdist_workers_are_aggregated(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.makepyfile(test_app=TESTS.replace("range(N)", "range(4)"))
    # Real worker processes: each loads only the plugins it needs (autoload off).
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = project.runpytest_subprocess(
        *ARGS, "-p", "xdist", "-n", "2", "-W", "ignore::UserWarning", "-k", "without_a_clock"
    )
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines([SLEPT.format(seconds="4.80", tests=4)])
