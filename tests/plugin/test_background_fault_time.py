"""A slow fault met by the app's background (a poller its lifespan started) answers it at once
and leaves the test's clock alone. A trial's poller moved the frozen clock by 40 s in 2.5 s of
real time (``latency("ha", 5)``, with no ``clock.advance``), by however far it got: breakers
could half-open by themselves, differently from run to run. A request the test sends still
waits the fault out in virtual time."""

from __future__ import annotations

import pytest

APP = """
import asyncio
import contextlib
import threading

import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route


def create_app():
    polled = threading.Event()  # set after each call of the poller

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async def poll():
            async with httpx.AsyncClient(timeout=10) as http:
                while True:
                    with contextlib.suppress(httpx.HTTPError):
                        await http.get("https://feed.example.com/state")
                    polled.set()
                    await asyncio.sleep(0.01)  # its interval: real time, by design

        task = asyncio.create_task(poll())
        yield
        task.cancel()

    async def state(request):
        async with httpx.AsyncClient(timeout=10) as http:
            try:
                await http.get("https://feed.example.com/state")
            except httpx.HTTPError as error:
                return JSONResponse({"error": type(error).__name__}, status_code=504)
        return JSONResponse({"ok": True})

    release, job_done = asyncio.Event(), threading.Event()

    async def job():  # a job a handler hands on (APScheduler's add_job does so): runs later
        await release.wait()
        async with httpx.AsyncClient(timeout=10) as http:
            await http.get("https://feed.example.com/state")
        job_done.set()

    async def schedule(request):
        loop = asyncio.get_running_loop()
        loop.call_soon_threadsafe(lambda: loop.create_task(job()))  # the scheduler's wakeup
        return JSONResponse({"scheduled": True})

    async def go(request):
        release.set()
        return JSONResponse({})

    routes = [
        Route("/state", state),
        Route("/schedule", schedule, methods=["POST"]),
        Route("/release", go, methods=["POST"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.polled, app.state.job_done = polled, job_done
    return app
"""

CONFTEST = """
import pytest

from pytest_hardening import Provider
from bgpoller import create_app


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_providers():
    return {"feed": Provider("https://feed.example.com", None)}
"""

TESTS = """
import pytest


def polls_meeting(app, faults, set_fault):
    set_fault()
    for _ in range(2):  # a poll that began before the fault, then one that met it
        app.state.polled.clear()
        assert app.state.polled.wait(30), "the poller stopped"


@pytest.mark.parametrize("fault", ["latency", "timeout", "sequence"])
def test_the_background_leaves_the_clock(hardened_client, faults, clock, fault):
    app = hardened_client.app
    set_fault = {
        "latency": lambda: faults.latency("feed", 5),
        "timeout": lambda: faults.timeout("feed"),
        "sequence": lambda: faults.sequence("feed", ["timeout", "timeout", "timeout"]),
    }[fault]
    polls_meeting(app, faults, set_fault)
    assert clock.advanced == 0
    faults.allow_unused()


def test_a_job_a_request_handed_on_is_the_background(hardened_client, faults, clock):
    # It inherits the request's context: it counted as the test's once the request was over
    # (a trial's APScheduler job added by an endpoint moved the clock by the fault's 20 s).
    faults.latency("feed", 5)
    assert hardened_client.post("/schedule").status_code == 200
    assert hardened_client.post("/release").status_code == 200
    assert hardened_client.app.state.job_done.wait(30), "the job never ran"
    assert clock.advanced == 0


def test_a_request_of_the_tests_still_waits_in_virtual_time(hardened_client, faults, clock):
    faults.latency("feed", 5)
    assert hardened_client.get("/state").status_code == 200
    assert clock.advanced == 5
"""


def test_a_slow_fault_the_background_meets_leaves_the_tests_clock(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(bgpoller=APP)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_background=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=5)
