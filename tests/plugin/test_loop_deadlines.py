"""A ``latency`` or ``timeout`` fault, or virtual back-off, moves the clock, not the event
loop's time: an ``asyncio.timeout`` or anyio ``fail_after`` around the call does not fire, and
the test sees an answer production never gives (the reference app's own 8 s script cap hid a
breaker that never opened on a hung or rate-limited OpenAI this way). The ``clock`` fixture says
so at teardown, once per cause and kind of deadline, and stays quiet when the wait ends before
the deadline."""

from __future__ import annotations

import pytest

APP = """
import asyncio

import anyio
import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


async def _quote():
    async with httpx.AsyncClient(timeout=60) as http:
        return (await http.get("https://quotes.example/q")).status_code


async def capped(request):  # the app's own cap, on the event loop's time
    try:
        async with asyncio.timeout(5):
            return JSONResponse({"status": await _quote()})
    except TimeoutError:
        return JSONResponse({"status": "cut"})


async def twice(request):  # two calls under one cap: their waits add up
    try:
        async with asyncio.timeout(5):
            first, second = await _quote(), await _quote()
            return JSONResponse({"status": [first, second]})
    except TimeoutError:
        return JSONResponse({"status": "cut"})


async def fenced(request):
    with anyio.move_on_after(5):
        return JSONResponse({"status": await _quote()})
    return JSONResponse({"status": "cut"})


async def patient(request):  # its own back-off, virtual under hardening_backoff_modules
    try:
        async with asyncio.timeout(5):
            await asyncio.sleep(10)
            return JSONResponse({"status": await _quote()})
    except TimeoutError:
        return JSONResponse({"status": "cut"})


def blocking(request):  # a sync endpoint: run in a worker thread
    with httpx.Client(timeout=60) as http:
        return JSONResponse({"status": http.get("https://quotes.example/q").status_code})


class Deadline:  # a request-timeout middleware, on the event loop's time
    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/blocking":
            return await self.app(scope, receive, send)
        try:
            await asyncio.wait_for(self.app(scope, receive, send), 5)
        except TimeoutError:
            await JSONResponse({"status": "cut"}, 504)(scope, receive, send)


def build():
    routes = [
        Route("/capped", capped),
        Route("/twice", twice),
        Route("/fenced", fenced),
        Route("/patient", patient),
        Route("/blocking", blocking),
    ]
    return Deadline(Starlette(routes=routes))
"""

CONFTEST = """
import httpx
import pytest

import quotes
from pytest_hardening import Provider


@pytest.fixture
def hardening_app_factory():
    return quotes.build


@pytest.fixture
def hardening_dev_env():
    return {}


@pytest.fixture
def hardening_backoff_modules():
    return ["quotes"]


@pytest.fixture
def hardening_providers():
    return {"quotes": Provider("https://quotes.example", lambda r: httpx.Response(200))}
"""

TESTS = """
def test_past_the_cap(hardened_client, faults, clock):
    faults.latency("quotes", 8)
    # What the plugin cannot give: production answers "cut" after 5 s.
    assert hardened_client.get("/capped").json() == {"status": 200}
    assert hardened_client.get("/capped").json() == {"status": 200}  # warned of once
    assert clock.advanced == 16


def test_past_the_cap_in_two_steps(hardened_client, faults, clock):
    faults.latency("quotes", 3)  # each under the 5 s cap, together past it
    assert hardened_client.get("/twice").json() == {"status": [200, 200]}


def test_past_the_fence(hardened_client, faults, clock):
    faults.timeout("quotes")  # the client's own 60 s: past the app's 5 s fence
    assert hardened_client.get("/fenced").status_code == 500  # production: "cut" after 5 s


def test_past_the_patience(hardened_client, clock):
    assert hardened_client.get("/patient").json() == {"status": 200}


def test_past_the_middlewares_deadline(hardened_client, faults, clock):
    faults.latency("quotes", 8)  # met in the sync endpoint's worker thread
    assert hardened_client.get("/blocking").json() == {"status": 200}


def test_under_the_cap(hardened_client, faults, clock):
    faults.latency("quotes", 2)
    assert hardened_client.get("/capped").json() == {"status": 200}
    assert hardened_client.get("/twice").json() == {"status": [200, 200]}
    assert hardened_client.get("/fenced").json() == {"status": 200}
"""


def test_a_fault_past_the_apps_own_deadline_is_warned_of(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(quotes=APP, test_quotes=TESTS)
    pytester.makeconftest(CONFTEST)
    result = pytester.runpytest_inprocess(
        "-p",
        "pytest_hardening",
        "-p",
        "no:randomly",
        "-p",
        "no:asyncio",
        "-W",
        "default::pytest_hardening.LoopDeadlineWarning",  # whatever the outer run says
    )
    result.assert_outcomes(passed=6)
    # The warnings alone: the hardening summary after them sums them up again.
    warnings = result.stdout.str().split("warnings summary")[-1].split("- hardening -")[0]
    result.stdout.fnmatch_lines(
        [
            "test_quotes.py::test_past_the_cap",
            "  *test_quotes.py:1: LoopDeadlineWarning: a latency(8*) fault moved the clock 8 s, "
            "past a deadline of the app's event loop (asyncio.timeout()/wait_for()) *.* s away: "
            "in production that deadline comes first and it cuts the call off*Give the client "
            "its own timeout*",
            "test_quotes.py::test_past_the_cap_in_two_steps",
            "*LoopDeadlineWarning: a latency(3*) fault moved the clock 3 s, past a deadline of "
            "the app's event loop (asyncio.timeout()/wait_for()) *.* s away (the clock had moved "
            "3 s since it was set)*",
            "test_quotes.py::test_past_the_fence",
            "*LoopDeadlineWarning: a timeout fault moved the clock 60 s, past a deadline of the "
            "app's event loop (anyio fail_after()/move_on_after()) *.* s away*",
            "test_quotes.py::test_past_the_patience",
            "*LoopDeadlineWarning: a virtual back-off sleep moved the clock 10 s, past a "
            "deadline of the app's event loop (asyncio.timeout()/wait_for())*",
            "test_quotes.py::test_past_the_middlewares_deadline",
            "*LoopDeadlineWarning: a latency(8*) fault moved the clock 8 s, past a deadline of "
            "the app's event loop (asyncio.*wait*)*",  # 3.11 or 3.12 form
        ]
    )
    assert warnings.count("LoopDeadlineWarning") == 5
    assert "test_under_the_cap" not in warnings
