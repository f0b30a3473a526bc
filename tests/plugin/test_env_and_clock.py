"""EnvPatch and Clock used directly, without pytest fixtures."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
import time
import traceback
from collections.abc import Iterator

import freezegun.api
import pytest

from pytest_hardening import Clock, EnvPatch
from pytest_hardening._clock_cache import ClockCache


def test_env_patch_sets_exactly_the_values_and_restores(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HP_KEEP", "outer")
    monkeypatch.setenv("HP_PROD_ONLY", "leaky")
    monkeypatch.delenv("HP_NEW", raising=False)
    with EnvPatch({"HP_NEW": "1", "HP_KEEP": "inner"}, clear={"HP_PROD_ONLY"}):
        assert os.environ["HP_NEW"] == "1"
        assert os.environ["HP_KEEP"] == "inner"
        assert "HP_PROD_ONLY" not in os.environ
    assert "HP_NEW" not in os.environ
    assert os.environ["HP_KEEP"] == "outer"
    assert os.environ["HP_PROD_ONLY"] == "leaky"


def test_env_patch_undoes_what_anyone_changed_meanwhile() -> None:
    # The app's startup or the test itself set, changed or removed variables beside the
    # patch's own: they leaked into the next test.
    env = {"KEEP": "1", "GONE": "2", "PYTEST_CURRENT_TEST": "t (setup)"}
    with EnvPatch({"MODE": "dev"}, environ=env):
        env.update(FEATURE_FLAG="on", KEEP="changed")
        del env["GONE"]
        env["PYTEST_CURRENT_TEST"] = "t (teardown)"  # pytest's own, per phase: left to it
    assert env == {"KEEP": "1", "GONE": "2", "PYTEST_CURRENT_TEST": "t (teardown)"}


def test_env_patch_gives_back_pytests_other_variables_it_cleared() -> None:
    # check-config clears the shell's variables around an env file: pytest-xdist's worker
    # name went with them for the rest of the worker's session (only the per-phase variable
    # is pytest's to set).
    env = {"PYTEST_XDIST_WORKER": "gw1", "PYTEST_ADDOPTS": "-q", "SECRET_KEY": "dev"}
    with EnvPatch({"APP_ENV": "production"}, clear=set(env), environ=env):
        assert env == {"APP_ENV": "production"}
    assert env == {"PYTEST_XDIST_WORKER": "gw1", "PYTEST_ADDOPTS": "-q", "SECRET_KEY": "dev"}


def test_env_patch_restores_after_an_exception() -> None:
    env: dict[str, str] = {"A": "1"}
    patch = EnvPatch({"A": "2", "B": "3"}, environ=env)

    def crash() -> None:
        with patch:
            assert env == {"A": "2", "B": "3"}
            raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        crash()
    assert env == {"A": "1"}


def test_clock_freezes_and_advances_every_clock() -> None:
    start = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    with Clock(start) as clock:
        m0, p0 = time.monotonic(), time.perf_counter()
        assert clock.now() == start
        assert clock.now().tzinfo is not None
        clock.advance(90)
        assert time.monotonic() - m0 == pytest.approx(90)
        assert time.perf_counter() - p0 == pytest.approx(90)
        assert clock.now() == start + dt.timedelta(seconds=90)
        assert time.time() == pytest.approx(start.timestamp() + 90)
        assert clock.advanced == 90
    assert abs(time.time() - dt.datetime.now(dt.timezone.utc).timestamp()) < 5  # real again


def test_clock_refuses_to_go_backwards() -> None:
    with Clock() as clock, pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_clock_is_seen_by_plain_threads_at_any_stack_depth() -> None:
    # freezegun alone returns real time to callers near threading's frames.
    seen: list[float] = []
    with Clock() as clock:
        thread = threading.Thread(target=lambda: seen.append(time.monotonic()))
        thread.start()
        thread.join()
        assert seen == [pytest.approx(clock.monotonic())]


def test_event_loop_keeps_real_time_while_frozen() -> None:
    async def main() -> float:
        before = time.monotonic()
        await asyncio.sleep(0.01)  # would hang if the loop read the frozen clock
        return time.monotonic() - before

    with Clock():
        assert asyncio.run(main()) == 0.0  # the app's clock did not move by itself


def test_a_deadline_whole_seconds_ahead_is_reached_by_moving_exactly_that_far() -> None:
    # A breaker opened at a jittered moment (an SDK's back-off moved the clock 2.2375 s) sets
    # ``open_until = now + 60``; moving the clock 60 s must reach it, at any fraction of a second
    # (decimal fractions missed it by a rounding step about once in 200).
    with Clock() as clock:
        for step in range(2_000):
            clock.advance((step * 7_919 % 1_000_000) / 1_000_000)
            opened = time.monotonic()
            open_until = opened + 60.0
            clock.advance(60)
            now = time.monotonic()
            assert now >= open_until, (step, opened, now)
            assert now - opened == 60.0, (step, opened, now)


def test_monotonic_goes_on_from_its_real_value_when_the_clock_starts() -> None:
    # An app's timer set before the clock started stays about as far ahead as it was: it comes
    # due when the clock has moved that far, not at once (freezegun alone jumps decades ahead).
    before = time.monotonic()
    due = before + 30
    due_ns = time.perf_counter_ns() + 30 * 10**9
    with Clock() as clock:
        # The clock starts at the next whole second after its start read the real time: as
        # far below 30 s as that real second plus the start took (seconds on a busy machine).
        starting = freezegun.api.real_monotonic() - before
        left = due - time.monotonic()
        assert 30 - starting - 1 <= left <= 30, (left, starting)
        clock.advance(20)
        assert due - time.monotonic() == pytest.approx(left - 20)
        # due_ns was read a moment after `before`: 0.1 s covers a preemption between the two.
        assert due_ns - time.perf_counter_ns() == pytest.approx((left - 20) * 1e9, abs=1e8)
        with clock.paused():  # real time for a while, then frozen where it was
            pass
        assert due - time.monotonic() == pytest.approx(left - 20)  # never back
        clock.advance(left - 20 + 0.5)
        assert time.monotonic() > due
    assert 0 < due - time.monotonic() <= 30  # real again


def test_a_reader_in_another_thread_never_sees_monotonic_jump_as_the_clock_freezes_again(
    clock_cache: ClockCache,
) -> None:
    # A kept app's event loop reads time.monotonic in its own thread while the harness freezes
    # the clock again after the app's startup: between freezegun putting its functions in and
    # the clock anchoring them, it read freezegun's date-based value, saw decades pass and ran
    # every timer it had at once (a periodic task's next round, in a trial).
    jumps: list[float] = []
    failed: list[str] = []
    stop = threading.Event()

    def read() -> None:
        # Also through freezegun's check as it stops in the test's thread: it read its list
        # of modules to leave alone twice, and met it emptied in between (IndexError).
        last = time.monotonic()
        try:
            while not stop.is_set():
                now = time.monotonic()
                if abs(now - last) > 1e6:
                    jumps.append(now - last)
                last = now
                time.time()  # the frozen date, through freezegun's own
        except BaseException as error:  # the traceback says where, in a failure
            failed.append("".join(traceback.format_exception(error)))

    with Clock(cache=clock_cache) as clock:  # restarts as cheap as in a session
        reader = threading.Thread(target=read)
        reader.start()
        try:
            for _ in range(20):
                with clock.paused():
                    pass
        finally:
            stop.set()
            reader.join()
    assert (jumps, failed) == ([], [])


def test_a_thread_still_inside_freezeguns_fake_when_the_clock_stops_reads_real_time() -> None:
    # The race above, caught at its narrowest: a thread past the fake's "real time?" check when
    # the test's thread stops the freeze then asks for the frozen instant, of a freeze that is
    # gone. It raised IndexError in that thread (the clock had put freezegun's own back).
    with Clock(start=dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)):
        pass
    # What freezegun's fake_time calls after its check, looked up at that moment.
    assert freezegun.api.get_current_time().year > 2001  # real time, as after the check


def test_a_thread_still_inside_freezeguns_monotonic_when_the_clock_stops_reads_real_time() -> None:
    # The same at monotonic: a kept app's loop began a reading as the test's clock stopped,
    # and ended it in freezegun's own date-based function: decades later, every timer due.
    with Clock() as clock:
        clock.advance(10)
    before = time.monotonic()
    # What freezegun's fake_monotonic calls after its check, looked up at that moment.
    reading = freezegun.api._get_fake_monotonic()
    assert before <= reading <= time.monotonic()
    assert before <= freezegun.api._get_fake_monotonic_ns() / 1e9 <= time.monotonic()


@pytest.fixture
def east_of_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local zone at UTC+05:30 (a POSIX TZ string: no tz database needed)."""
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset() is Unix-only")
    monkeypatch.setenv("TZ", "IST-05:30")
    time.tzset()
    try:
        yield
    finally:
        monkeypatch.undo()
        time.tzset()


def test_under_the_clock_naive_now_is_utc_whatever_the_local_zone(east_of_utc: None) -> None:
    """freezegun's naive ``now()``/``today()`` are UTC (its ``tz_offset`` would also shift the
    aware ``now(tz)``: spulec/freezegun#348), while ``time.localtime()`` follows ``TZ``; the
    docs say so (docs/fixtures.md, the clock), and aware datetimes are exact either way."""
    start = dt.datetime(2026, 1, 4, 21, 0, tzinfo=dt.timezone.utc)
    assert start.astimezone().utcoffset() == dt.timedelta(hours=5, minutes=30)  # really moved
    with Clock(start) as clock:
        assert dt.datetime.now(dt.timezone.utc) == clock.now() == start
        assert dt.datetime.now() == dt.datetime(2026, 1, 4, 21, 0)  # UTC, not 02:30 local
        assert dt.date.today() == dt.date(2026, 1, 4)
        assert time.localtime().tm_hour == 2  # local, as without the clock
        assert dt.datetime.now().astimezone(dt.timezone.utc) != start  # the trap, spelled out
        assert time.time() == start.timestamp()


def test_advancing_under_a_freeze_started_after_the_clock_fails_saying_why() -> None:
    # A @freeze_time on the test starts after the clock fixture: the app reads its time.
    with Clock() as clock, freezegun.api.freeze_time("2020-01-01"):
        with pytest.raises(RuntimeError, match="a freezegun freeze started after the clock"):
            clock.advance(10)
        assert clock.advanced == 0
    with Clock() as clock:  # the clock alone moves as before
        before = clock.now()
        clock.advance(10)
        assert (clock.now() - before).total_seconds() == 10
