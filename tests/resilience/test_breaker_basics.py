"""Core state machine rules of reference_app.resilience.CircuitBreaker (fake clock)."""

from __future__ import annotations

import pytest

from reference_app.resilience import CircuitBreaker, CircuitOpenError, ManualClock, State


class Boom(RuntimeError):
    pass


def fail() -> None:
    raise Boom("provider down")


def ok() -> str:
    return "ok"


def trip(breaker: CircuitBreaker, n: int) -> None:
    for _ in range(n):
        with pytest.raises(Boom):
            breaker.call(fail)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(1000.0)


@pytest.fixture
def breaker(clock: ManualClock) -> CircuitBreaker:
    return CircuitBreaker(
        "svc", failure_threshold=3, success_threshold=2, open_timeout=30, clock=clock
    )


def test_opens_after_threshold_consecutive_failures(breaker: CircuitBreaker) -> None:
    trip(breaker, 2)
    assert breaker.state is State.CLOSED
    trip(breaker, 1)
    assert breaker.state is State.OPEN
    [t] = breaker.transitions
    assert (t.from_state, t.to_state, t.reason) == (
        State.CLOSED,
        State.OPEN,
        "3 consecutive failures",
    )


def test_success_resets_consecutive_count(breaker: CircuitBreaker) -> None:
    trip(breaker, 2)
    assert breaker.call(ok) == "ok"
    trip(breaker, 2)
    assert breaker.state is State.CLOSED
    assert breaker.metrics().consecutive_failures == 2


def test_open_rejects_without_calling_and_reports_retry_after(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    trip(breaker, 3)
    clock.advance(10)
    calls: list[int] = []
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(calls.append, 1)
    assert calls == []
    assert info.value.name == "svc"
    assert info.value.retry_after == pytest.approx(20.0)
    assert "svc" in str(info.value)


def test_full_cycle_closes_after_success_threshold(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    trip(breaker, 3)
    clock.advance(30)
    assert breaker.state is State.HALF_OPEN
    assert breaker.call(ok) == "ok"
    assert breaker.state is State.HALF_OPEN
    assert breaker.call(ok) == "ok"
    assert breaker.state is State.CLOSED
    pairs = [(t.from_state, t.to_state, t.reason) for t in breaker.transitions]
    assert pairs == [
        (State.CLOSED, State.OPEN, "3 consecutive failures"),
        (State.OPEN, State.HALF_OPEN, "open timeout elapsed"),
        (State.HALF_OPEN, State.CLOSED, "2 probe successes"),
    ]
