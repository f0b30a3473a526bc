"""Transition log, listeners, metrics snapshot, memory under rejections, the default clock."""

from __future__ import annotations

import gc
import json
import logging
import sys
import time
import tracemalloc
from pathlib import Path

import pytest
from freezegun import freeze_time

from reference_app import resilience
from reference_app.resilience import (
    BreakerMetrics,
    CircuitBreaker,
    CircuitOpenError,
    ManualClock,
    State,
    Transition,
)


def boom() -> None:
    raise ConnectionError("down")


def test_transition_records_monotonic_and_wall_time() -> None:
    clock = ManualClock(500.0)
    breaker = CircuitBreaker("svc", failure_threshold=1, clock=clock)
    before = time.time()
    with pytest.raises(ConnectionError):
        breaker.call(boom)
    [t] = breaker.transitions
    assert t.at == 500.0
    assert before <= t.wall_time <= time.time()
    assert t.breaker == "svc"
    assert str(t) == "CLOSED → OPEN (1 consecutive failures)"
    assert t.as_dict() == {
        "breaker": "svc",
        "from": "CLOSED",
        "to": "OPEN",
        "reason": "1 consecutive failures",
        "at": 500.0,
        "wall_time": t.wall_time,
    }


def test_listeners_get_each_transition_and_can_unsubscribe() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("svc", failure_threshold=1, success_threshold=1, clock=clock)
    seen: list[Transition] = []
    unsubscribe = breaker.add_listener(seen.append)
    with pytest.raises(ConnectionError):
        breaker.call(boom)
    clock.advance(60)
    breaker.call(int)
    assert [(t.from_state, t.to_state) for t in seen] == [
        (State.CLOSED, State.OPEN),
        (State.OPEN, State.HALF_OPEN),
        (State.HALF_OPEN, State.CLOSED),
    ]
    assert tuple(seen) == breaker.transitions
    unsubscribe()
    unsubscribe()  # idempotent
    breaker.force_open()
    assert len(seen) == 3


def test_a_raising_listener_is_logged_and_does_not_break_the_breaker(
    caplog: pytest.LogCaptureFixture,
) -> None:
    breaker = CircuitBreaker("svc", failure_threshold=1)
    later: list[Transition] = []

    def broken(_: Transition) -> None:
        raise RuntimeError("listener bug")

    breaker.add_listener(broken)
    breaker.add_listener(later.append)
    # The caller sees its own error, not the listener's.
    with (
        caplog.at_level(logging.ERROR, logger="reference_app.resilience"),
        pytest.raises(ConnectionError),
    ):
        breaker.call(boom)
    assert breaker.state is State.OPEN
    assert len(later) == 1, "listeners after a broken one still run"
    assert "listener" in caplog.text
    assert "listener bug" in caplog.text


def test_metrics_snapshot() -> None:
    clock = ManualClock(100.0)
    breaker = CircuitBreaker("svc", failure_threshold=3, open_timeout=30, clock=clock)
    breaker.call(int)
    with pytest.raises(ConnectionError):
        breaker.call(boom)
    m = breaker.metrics()
    assert isinstance(m, BreakerMetrics)
    assert (m.state, m.successes, m.failures, m.rejections, m.total_calls) == (
        State.CLOSED,
        1,
        1,
        0,
        2,
    )
    assert m.failure_rate == 0.5
    assert (m.consecutive_failures, m.last_failure_at) == (1, 100.0)
    assert m.next_probe_at is None
    assert m.next_probe_in is None
    clock.advance(5)
    for _ in range(2):
        with pytest.raises(ConnectionError):
            breaker.call(boom)
    clock.advance(10)
    with pytest.raises(CircuitOpenError):
        breaker.call(int)
    m = breaker.metrics()
    assert m.state is State.OPEN
    assert (m.failures, m.rejections, m.total_calls) == (3, 1, 5)
    assert m.next_probe_at == 135.0
    assert m.next_probe_in == 20.0
    assert m.last_failure_at == 105.0
    assert m.last_failure_wall is not None
    assert [t.to_state for t in m.transitions] == [State.OPEN]
    clock.advance(20)
    m = breaker.metrics()
    assert (m.state, m.next_probe_in) == (State.HALF_OPEN, 0.0)
    json.dumps(m.as_dict())  # JSON-able for monitoring routes
    assert m.as_dict()["state"] == "HALF_OPEN"


def reject_many(breaker: CircuitBreaker, n: int) -> CircuitOpenError:
    last = None
    for _ in range(n):
        try:
            breaker.call(int)
        except CircuitOpenError as exc:
            last = exc
    assert last is not None
    return last


def test_hundred_thousand_rejections_do_not_grow_memory() -> None:
    """A fresh error each time, nothing accumulates (counted in allocated blocks: cheap)."""
    breaker = CircuitBreaker("svc", open_timeout=3600)
    breaker.force_open()
    reject_many(breaker, 1_000)  # warm caches
    gc.collect()
    before = sys.getallocatedblocks()
    last = reject_many(breaker, 100_000)
    gc.collect()
    grown = sys.getallocatedblocks() - before
    assert grown < 200, f"{grown} memory blocks still allocated after 100k rejections"
    depth = 0
    tb = last.__traceback__
    while tb is not None:
        depth, tb = depth + 1, tb.tb_next
    assert depth <= 3, f"traceback has {depth} entries: the error object is being reused"
    assert breaker.metrics().rejections == 101_000


def test_rejections_do_not_grow_traced_memory() -> None:
    """The same bound in bytes, traced by tracemalloc (a shorter loop: tracing is slow).

    Only memory allocated by the breaker's own code counts: other threads of the test process
    (an app kept running between tests, Sentry's worker) allocate meanwhile."""
    breaker = CircuitBreaker("svc", open_timeout=3600)
    breaker.force_open()
    reject_many(breaker, 1_000)
    gc.collect()
    mine = [tracemalloc.Filter(True, str(Path(resilience.__file__).parent / "*"))]
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot().filter_traces(mine)
        reject_many(breaker, 10_000)
        gc.collect()
        after = tracemalloc.take_snapshot().filter_traces(mine)
    finally:
        tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown < 16 * 1024, f"memory grew by {grown} bytes over 10k rejections"


def test_each_rejection_raises_a_fresh_error() -> None:
    breaker = CircuitBreaker("svc")
    breaker.force_open()
    seen = []
    for _ in range(3):
        with pytest.raises(CircuitOpenError) as info:
            breaker.call(int)
        seen.append(info.value)
    assert len({id(e) for e in seen}) == 3


#: openai's lazy attributes: freezegun's first start would import ~500 modules to look at them.
NOT_FROZEN = ["openai"]


def test_default_clock_follows_freezegun() -> None:
    with freeze_time("2026-01-01 00:00:00", ignore=NOT_FROZEN) as frozen:
        breaker = CircuitBreaker("svc", failure_threshold=1, open_timeout=60)
        with pytest.raises(ConnectionError):
            breaker.call(boom)
        frozen.tick(59)
        assert breaker.state is State.OPEN
        with pytest.raises(CircuitOpenError) as info:
            breaker.call(int)
        assert info.value.retry_after == pytest.approx(1.0)
        frozen.tick(1)
        assert breaker.state is State.HALF_OPEN


def test_open_error_message_and_pickle() -> None:
    import pickle

    error = CircuitOpenError("exotel", 12.34)
    assert (error.name, error.retry_after) == ("exotel", 12.34)
    assert str(error) == "circuit breaker 'exotel' is open; next probe allowed in 12.3s"
    assert CircuitOpenError("x", -1.0).retry_after == 0.0
    clone = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (clone.name, clone.retry_after) == ("exotel", 12.34)


def test_breaker_opened_under_freezegun_recovers_after_unfreezing() -> None:
    """Frozen monotonic time is epoch-based, far ahead of the real clock: re-anchor on return."""
    breaker = CircuitBreaker("svc", failure_threshold=1, open_timeout=60)
    with freeze_time("2026-01-01 00:00:00", ignore=NOT_FROZEN), pytest.raises(ConnectionError):
        breaker.call(boom)
    # Real time again: the deadline computed under frozen time is decades away.
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(int)
    assert info.value.retry_after <= 60.0
    assert breaker.metrics().next_probe_in is not None
    assert breaker.metrics().next_probe_in <= 60.0  # type: ignore[operator]


def test_clock_going_backwards_reclaims_probe_permits() -> None:
    now = [1000.0]
    breaker = CircuitBreaker(
        "svc", failure_threshold=1, open_timeout=10, probe_timeout=5, clock=lambda: now[0]
    )
    breaker.force_open()
    now[0] += 10
    assert breaker.state is State.HALF_OPEN
    held = breaker.acall(_never_finishes)
    held.send(None)  # a probe is in flight, holding the only permit
    now[0] = 0.0  # the clock was swapped for one far behind
    assert breaker.call(int) == 0, "the permit must not stay held for decades"
    held.close()


async def _never_finishes() -> None:
    await _Suspend()


class _Suspend:
    def __await__(self):  # type: ignore[no-untyped-def]
        yield


def test_listeners_and_calls_run_outside_the_lock() -> None:
    """A listener or a protected function may use the breaker itself without deadlocking."""
    breaker = CircuitBreaker("svc", failure_threshold=1)
    states_seen: list[State] = []
    breaker.add_listener(lambda t: states_seen.append(breaker.metrics().state))
    assert breaker.call(lambda: breaker.metrics().state) is State.CLOSED
    with pytest.raises(ConnectionError):
        breaker.call(boom)
    breaker.reset()
    assert states_seen == [State.OPEN, State.CLOSED]
