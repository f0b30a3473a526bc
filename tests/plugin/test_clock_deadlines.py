"""A loop that waits for a deadline on the frozen clock (pymongo's server selection waiting for
a server the network guard refused) hung the test in silence: each round waits in real time,
and the deadline, read from the frozen ``time.monotonic``, never comes. The clock's deadline
watch ends such a loop with an error that says where, and the ``clock`` fixture fails the
test with it even when the app turned the error into a 500."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Callable

import pytest

from pytest_hardening import Clock, _clock_deadlines
from pytest_hardening._clock_deadlines import DeadlineWatch, FrozenDeadlineError
from pytest_hardening._virtual_time import ServingThreads

FAST = 0.02  # real seconds a loop may read the still clock, for the tests


class Everyone(ServingThreads):
    """Every thread serves the test (the loops below run in threads of their own)."""

    def serving(self) -> bool:
        return True


def run(loop: Callable[[], object]) -> BaseException | None:
    """What ``loop``, run in a thread of its own, raised (None when it returned)."""
    raised: list[BaseException] = []

    def target() -> None:
        try:
            loop()
        except BaseException as error:
            raised.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive(), "the loop was not ended"
    return raised[0] if raised else None


def test_a_loop_waiting_on_a_still_clock_is_ended_naming_where() -> None:
    out = io.StringIO()
    watch = DeadlineWatch(lambda: 0.0, seconds=FAST, out=out, threads=Everyone())
    wake = threading.Event()

    def select_server() -> None:
        while True:  # a deadline that never comes: the clock does not move
            watch.read(depth=1)
            wake.wait(0.002)

    try:
        error = run(select_server)
    finally:
        watch.stop()
    assert isinstance(error, FrozenDeadlineError)
    assert "(in select_server) read the frozen clock" in str(error)
    assert watch.found == [str(error)]
    assert "select_server" in out.getvalue()  # said at once, with where it waits


def rounds_left_alone(
    watch: DeadlineWatch, *, moved: list[float] | None = None, in_a_call: bool = False
) -> int:
    """Run a loop reading through ``watch`` for eight times its limit (moving the clock each
    round when given ``moved``; reading in a fresh call each round with ``in_a_call``), check
    that the watch left it alone, and return how many rounds it made."""
    wake = threading.Event()
    rounds = 0

    def handler() -> None:  # a request's handler: read once, return
        watch.read(depth=1)

    def loop() -> None:
        nonlocal rounds
        end = time.monotonic() + 8 * FAST  # real time here: the test's own bound
        while time.monotonic() < end:
            if in_a_call:
                handler()
            else:
                watch.read(depth=1)
            if moved is not None:
                moved[0] += 1  # the test moves the clock as it goes
            rounds += 1
            wake.wait(0.002)

    try:
        assert run(loop) is None
    finally:
        watch.stop()
    assert watch.found == []
    return rounds


def test_a_loop_in_a_thread_the_test_does_not_wait_for_is_left_alone() -> None:
    # A driver's background monitor: its own timing (here, no thread serves but the test's).
    watch = DeadlineWatch(lambda: 0.0, seconds=FAST, out=io.StringIO(), threads=ServingThreads())
    assert rounds_left_alone(watch) > 0


def test_a_loop_whose_clock_moves_is_left_alone() -> None:
    moved = [0.0]
    watch = DeadlineWatch(lambda: moved[0], seconds=FAST, out=io.StringIO(), threads=Everyone())
    assert rounds_left_alone(watch, moved=moved) > 0


def test_readings_from_fresh_calls_are_no_loop() -> None:
    watch = DeadlineWatch(lambda: 0.0, seconds=FAST, out=io.StringIO(), threads=Everyone())
    assert rounds_left_alone(watch, in_a_call=True) > 0


def test_the_clock_ends_a_deadline_loop_on_time_monotonic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_clock_deadlines, "SECONDS", FAST)
    condition = threading.Condition()

    def select_server() -> None:
        end = time.monotonic() + 30
        with condition:
            for _ in range(5000):  # ten seconds at most, should the watch not end it
                if time.monotonic() >= end:
                    return
                condition.wait(0.002)

    with Clock() as clock, pytest.raises(FrozenDeadlineError) as ended:
        select_server()  # in the test's own thread, which the test waits for
    assert clock.frozen_waits == [str(ended.value)]
    assert "time.monotonic never comes" in str(ended.value)


APP = """
import threading
import time

from fastapi import FastAPI

condition = threading.Condition()


def create_app():
    app = FastAPI()

    @app.get("/users")
    def users():
        end = time.monotonic() + 30  # a driver's server selection timeout
        with condition:
            for _ in range(5000):  # ten seconds at most, should the watch not end it
                if time.monotonic() >= end:
                    raise TimeoutError("no server")
                condition.wait(0.002)
        return []

    return app
"""

TEST = """
import pytest

from pytest_hardening import _clock_deadlines


@pytest.fixture(autouse=True)
def fast_watch(monkeypatch):  # before the clock starts its watch
    monkeypatch.setattr(_clock_deadlines, "SECONDS", 0.02)


@pytest.fixture
def hardening_app_factory():
    from waiting_app import create_app
    return create_app


def test_users(clock, hardened_client):
    assert hardened_client.get("/users").status_code == 500  # the app's answer to the error
"""


def test_the_clock_fixture_fails_the_test_the_app_answered(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(waiting_app=APP, test_users=TEST)
    pytester.syspathinsert()
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*a loop at waiting_app:* (in users) read the frozen clock*"])
