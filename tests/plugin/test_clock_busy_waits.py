"""A busy-wait on the frozen wall clock (``end = time.time() + ms / 1000; while time.time() <
end: pass``, an app simulating CPU work) hung the test for ever under the clock: the wall
clock's readings were not watched, only ``time.monotonic``'s. They are now, and such a loop is
ended with an error that says where, as a deadline loop on ``time.monotonic`` is; a request's
many readings of the time (its log records), and an app's background task asking the time each
round, are left alone."""

from __future__ import annotations

import datetime as _dt
import logging
import time
from collections.abc import Callable

import freezegun.api
import pytest

from pytest_hardening import Clock, FrozenDeadlineError, _clock_deadlines

FAST = 0.02  # real seconds a loop may read the still clock, for the tests
#: Rounds of a spin that the watch did not end: a few real seconds, then the test fails.
BOUND = 1_000_000


def spin_on_time() -> None:
    end = time.time() + 30
    for _ in range(BOUND):
        if time.time() >= end:
            return


def spin_on_time_ns() -> None:
    end = time.time_ns() + 30 * 10**9
    for _ in range(BOUND):
        if time.time_ns() >= end:
            return


def spin_on_now() -> None:
    end = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=30)
    for _ in range(BOUND):
        if _dt.datetime.now(_dt.timezone.utc) >= end:
            return


@pytest.mark.parametrize("spin", [spin_on_time, spin_on_time_ns, spin_on_now])
def test_the_clock_ends_a_busy_wait_on_the_wall_clock(
    monkeypatch: pytest.MonkeyPatch, spin: Callable[[], None]
) -> None:
    monkeypatch.setattr(_clock_deadlines, "SECONDS", FAST)
    with Clock() as clock, pytest.raises(FrozenDeadlineError) as ended:
        spin()  # in the test's own thread, which the test waits for
    assert clock.frozen_waits == [str(ended.value)]
    message = str(ended.value)
    assert f"(in {spin.__name__}) read the frozen clock" in message
    assert "on the wall clock (time.time, datetime.now) never comes" in message
    assert "clock.paused()" in message
    assert "clock.advance" in message


def test_a_requests_many_log_records_are_no_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # Each record reads time.time in a call of its own: thousands of readings, no loop.
    monkeypatch.setattr(_clock_deadlines, "SECONDS", FAST)
    records = 0
    with Clock() as clock:
        end = freezegun.api.real_monotonic() + 8 * FAST  # real time: the test's own bound
        while records < 10 or freezegun.api.real_monotonic() < end:
            logging.makeLogRecord({"msg": "handled"})
            records += 1
        assert clock.frozen_waits == []


def test_a_loop_whose_clock_moves_is_left_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_clock_deadlines, "SECONDS", FAST)
    rounds = 0
    with Clock() as clock:
        clock.advance(0)  # its first move looks for clocks stored in the heap: not timed here
        end = freezegun.api.real_monotonic() + 8 * FAST
        while rounds < 10 or freezegun.api.real_monotonic() < end:
            time.time()
            clock.advance(0.001)  # the test moves the clock as it goes
            rounds += 1
        assert clock.frozen_waits == []


SPIN_APP = """
import time

from fastapi import FastAPI

app = FastAPI()


@app.post("/work")
def work(ms: int = 5):
    end = time.time() + ms / 1000  # simulate CPU work for `ms` milliseconds
    while time.time() < end:
        pass
    return {"ok": True}
"""

SPIN_TEST = """
import pytest

from pytest_hardening import _clock_deadlines


@pytest.fixture(autouse=True)
def fast_watch(monkeypatch):  # before the clock starts its watch
    monkeypatch.setattr(_clock_deadlines, "SECONDS", 0.02)


@pytest.fixture
def hardening_app_factory():
    from spin_app import app
    return lambda: app


def test_work_with_clock(hardened_client, clock):
    assert hardened_client.post("/work", params={"ms": 5}).status_code == 200


def test_work_paused(hardened_client, clock):
    with clock.paused():  # the cure the message gives: real time for the spin
        assert hardened_client.post("/work", params={"ms": 5}).status_code == 200
"""


def test_an_apps_busy_wait_fails_the_test_instead_of_hanging(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(spin_app=SPIN_APP, test_spin=SPIN_TEST)
    # A subprocess with a timeout: without the watch the spin never ends.
    result = pytester.runpytest_subprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:cacheprovider", timeout=60
    )
    # The endpoint's error answered as a 500 (the test fails), and the fixture fails it too.
    result.assert_outcomes(passed=1, failed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*a loop at spin_app:* (in work) read the frozen clock*time.time() < end*"]
    )


# A scheduler's loop asking the clock each round whether a job is due: on the wall clock
# (datetime.now) or on time.monotonic (APScheduler-like), which reach the watch by two ways
# (freezegun's get_current_time; the clock's anchor).
BACKGROUND_APP = """
import asyncio
import contextlib
import datetime
import threading
import time

import freezegun.api
from fastapi import FastAPI

rounds = []
ended_by = []
done = threading.Event()


async def scheduler():
    # At least eight times the watch's limit in real time, and at least 8 rounds: on a slow
    # machine it takes longer, never fewer looks (the watch would end it after 3).
    end = freezegun.api.real_monotonic() + 0.16
    due = {due}
    try:
        while freezegun.api.real_monotonic() < end or len(rounds) < 8:
            if {now} >= due:
                break
            rounds.append(1)
            await asyncio.sleep(0.002)
    except BaseException as error:
        ended_by.append(type(error).__name__)
        raise
    finally:
        done.set()


@contextlib.asynccontextmanager
async def lifespan(app):
    task = asyncio.create_task(scheduler())
    yield
    task.cancel()


app = FastAPI(lifespan=lifespan)


@app.get("/ping")
def ping():
    return {{"ok": True}}
"""

BACKGROUND_TEST = """
import pytest

from pytest_hardening import _clock_deadlines


@pytest.fixture(autouse=True)
def fast_watch(monkeypatch):
    monkeypatch.setattr(_clock_deadlines, "SECONDS", 0.02)


@pytest.fixture
def hardening_app_factory():
    from scheduler_app import app
    return lambda: app


def test_ping(clock, hardened_client):
    import scheduler_app

    assert hardened_client.get("/ping").status_code == 200
    assert scheduler_app.done.wait(timeout=60)  # the scheduler's rounds, left to run
    assert scheduler_app.ended_by == []
    assert len(scheduler_app.rounds) >= 8
"""


@pytest.mark.parametrize(
    ("now", "due"),
    [
        ("datetime.datetime.now()", "datetime.datetime.now() + datetime.timedelta(hours=1)"),
        ("time.monotonic()", "time.monotonic() + 3600"),
    ],
    ids=["wall clock", "monotonic"],
)
def test_an_apps_background_task_asking_the_time_is_left_alone(
    pytester: pytest.Pytester, now: str, due: str
) -> None:
    pytester.makepyfile(
        scheduler_app=BACKGROUND_APP.format(now=now, due=due), test_scheduler=BACKGROUND_TEST
    )
    result = pytester.runpytest_subprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:cacheprovider", timeout=60
    )
    result.assert_outcomes(passed=1)
