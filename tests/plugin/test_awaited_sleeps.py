"""An app's own ``await asyncio.sleep(...)`` in a request's path (a streamed answer that types
word by word, a retry loop of its own) makes every test wait in real time, and the clock does
not move for it. The sleeps of the tasks serving the test's requests are watched and named in
a ``RealSleepWarning``; the app's background tasks sleep in the same event loop by design (a
periodic refresh, a re-dial worker), and theirs never are."""

from __future__ import annotations

import asyncio

import pytest

from pytest_hardening import Clock
from pytest_hardening._sleep_watch import AwaitedSleep
from pytest_hardening._virtual_time import serving_request

from . import _pollers

HERE = _pollers.__name__


async def _requests_and_a_background_task() -> None:
    responded = asyncio.Event()

    async def outlives_the_request() -> None:
        await responded.wait()
        await _pollers.back_off_async(0.004)  # the request is over: nobody waits for this

    poller = asyncio.create_task(_pollers.back_off_async(0.001))  # started before: background
    with serving_request():
        spawned = asyncio.create_task(outlives_the_request())
        await _pollers.back_off_async(0.002)
        await asyncio.gather(_pollers.back_off_async(0.003))  # a task the request awaits
        await _pollers.back_off_async(0)  # a checkpoint, no wait
    responded.set()
    await asyncio.gather(poller, spawned)


def test_only_the_sleeps_of_requests_in_flight_are_recorded() -> None:
    with Clock() as clock:
        asyncio.run(_requests_and_a_background_task())
    assert clock.real_sleeps == [AwaitedSleep(HERE, 0.002), AwaitedSleep(HERE, 0.003)]
    assert all(isinstance(sleep, AwaitedSleep) for sleep in clock.real_sleeps)
    assert clock.background_sleeps == []


def test_a_sleep_cancelled_part_way_counts_what_it_took() -> None:
    async def race() -> None:
        with serving_request():
            await asyncio.wait_for(_pollers.back_off_async(60), timeout=0.01)

    with Clock() as clock, pytest.raises(TimeoutError):
        asyncio.run(race())
    [(module, seconds)] = clock.real_sleeps
    assert module == HERE
    assert 0 < seconds < 60  # what it took, not the minute it asked for


def test_asyncio_sleep_is_put_back() -> None:
    real = asyncio.sleep
    with Clock():
        assert asyncio.sleep is not real
    assert asyncio.sleep is real


CHAT = '''
"""A chat app: it types its answer word by word, and retries its own way."""
import asyncio
import contextlib

from starlette.applications import Starlette
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

import refresher


async def typing():
    for word in ("hello", "there", "friend"):
        await asyncio.sleep(0.1)
        yield word.encode() + b" "


async def answer(request):
    return StreamingResponse(typing(), media_type="text/plain")


async def quote(request):  # the app's own retry loop
    for delay in (0.5, 1.0):
        await asyncio.sleep(delay)
    return JSONResponse({"attempts": 3})


@contextlib.asynccontextmanager
async def lifespan(app):
    task = asyncio.create_task(refresher.every(0.05))  # sleeps in the same loop, by design
    await refresher.STARTED.wait()
    yield
    task.cancel()


def build():
    return Starlette(routes=[Route("/answer", answer), Route("/quote", quote)], lifespan=lifespan)
'''

REFRESHER = """
import asyncio

STARTED = asyncio.Event()
ROUNDS = []


async def every(interval):
    STARTED.set()
    while True:
        await asyncio.sleep(interval)
        ROUNDS.append(interval)
"""

CONFTEST = """
import asyncio

import pytest

import chat
from tests.plugin._sleeps import instant_async_in


@pytest.fixture
def hardening_app_factory():
    return chat.build


@pytest.fixture(autouse=True)
def _the_apps_sleeps_take_no_time(monkeypatch):  # the watch still sees what they asked for
    monkeypatch.setattr(asyncio, "sleep", instant_async_in({"chat"}, asyncio.sleep))
"""

TESTS = """
import pytest

import refresher


def test_streamed_without_a_clock(hardened_client, faults):
    assert hardened_client.get("/answer").text == "hello there friend "
    assert faults.real_sleeps == [0.1, 0.1, 0.1]


def test_retried_under_the_clock(hardened_client, clock):
    assert hardened_client.get("/quote").json() == {"attempts": 3}
    assert [tuple(sleep) for sleep in clock.real_sleeps] == [("chat", 0.5), ("chat", 1.0)]


@pytest.mark.anyio
async def test_retried_in_the_tests_own_loop(hardened_async_client, clock):
    assert (await hardened_async_client.get("/quote")).json() == {"attempts": 3}
    assert [tuple(sleep) for sleep in clock.real_sleeps] == [("chat", 0.5), ("chat", 1.0)]


def test_the_background_task_is_not_waited_for(hardened_client, clock):
    rounds = len(refresher.ROUNDS)
    while len(refresher.ROUNDS) < rounds + 2:  # it sleeps for real meanwhile, in the app's loop
        assert hardened_client.get("/missing").status_code == 404
    assert clock.real_sleeps == []


class TestNamed:
    @pytest.fixture
    def hardening_backoff_modules(self):
        return ["chat"]

    def test_named_under_the_clock(self, hardened_client, faults, clock):
        assert hardened_client.get("/quote").json() == {"attempts": 3}
        assert clock.advanced == 1.5
        assert faults.real_sleeps == clock.real_sleeps == []
"""


def test_the_fixtures_name_an_apps_own_asyncio_sleep(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(chat=CHAT, refresher=REFRESHER)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_chat=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=5)
    # The warnings alone: the hardening summary after them sums them up again.
    warnings = result.stdout.str().split("warnings summary")[-1].split("- hardening -")[0]
    result.stdout.fnmatch_lines(
        [
            "*test_streamed_without_a_clock*",
            "*RealSleepWarning: the app slept 0.30 s for real in 3 asyncio.sleep call(s) from "
            "chat (3), in the tasks serving the test's requests (the test has no clock): "
            "the app's own waits. Add the `clock` fixture to the test and name those modules "
            "in hardening_backoff_modules*",
            "*test_retried_under_the_clock*",
            "*test_retried_in_the_tests_own_loop*",  # the same warning, shown once for both
            "*RealSleepWarning: the app slept 1.50 s for real while the clock was frozen, in 2 "
            "asyncio.sleep call(s) from chat (2), in the tasks serving the test's requests: the "
            "clock did not move for them. Name those modules in hardening_backoff_modules*",
        ]
    )
    for quiet in ("test_the_background_task_is_not_waited_for", "test_named_under_the_clock"):
        assert quiet not in warnings
    assert warnings.count("RealSleepWarning") == 2


SCRAPER = '''
"""One module for the requests' retries and the scheduler's rounds, as a trial's app had."""
import asyncio
import contextlib

from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

ROUNDS = []


async def scrape_forever():
    while True:
        await asyncio.sleep(0.01)  # the scheduler's interval: its own time
        ROUNDS.append(1)


async def squad(request):
    await asyncio.sleep(8.0)  # the app's delay between calls: a request waits for it
    return JSONResponse({"squad": []})


@contextlib.asynccontextmanager
async def lifespan(app):
    task = asyncio.create_task(scrape_forever())
    yield
    task.cancel()


def build():
    return Starlette(routes=[Route("/squad", squad)], lifespan=lifespan)
'''

SCRAPER_CONFTEST = """
import pytest

import scraper


@pytest.fixture
def hardening_app_factory():
    return scraper.build


@pytest.fixture
def hardening_backoff_modules():
    return ["scraper"]
"""

SCRAPER_TESTS = """
import scraper


def _rounds(hardened_client, count):
    start = len(scraper.ROUNDS)
    while len(scraper.ROUNDS) < start + count:  # the scheduler runs in the app's loop
        assert hardened_client.get("/missing").status_code == 404


def test_under_the_clock(hardened_client, faults, clock):
    _rounds(hardened_client, 3)
    assert hardened_client.get("/squad").json() == {"squad": []}
    assert faults.retry_sleeps == [8.0]  # the request's wait alone moved the clock
    assert clock.advanced == 8.0


def test_without_a_clock(hardened_client, faults):
    _rounds(hardened_client, 3)
    assert faults.real_sleeps == []  # the scheduler's rounds are not the test's waits
"""


def test_a_scheduler_in_a_named_module_keeps_its_own_time(pytester: pytest.Pytester) -> None:
    # The scheduler's sleeps moved the clock (1,909 rounds in 1.5 s, 572 s of virtual time)
    # and were warned of as the test's (a trial's app).
    pytester.makepyfile(scraper=SCRAPER)
    pytester.makeconftest(SCRAPER_CONFTEST)
    pytester.makepyfile(test_scraper=SCRAPER_TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=2)
    assert "RealSleepWarning" not in result.stdout.str()
