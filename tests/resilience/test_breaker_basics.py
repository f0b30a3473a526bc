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


def test_probe_failure_reopens_with_fresh_timeout(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    trip(breaker, 3)
    clock.advance(30)
    with pytest.raises(Boom):
        breaker.call(fail)
    assert breaker.state is State.OPEN
    assert breaker.transitions[-1].reason == "probe failed"
    clock.advance(29.9)
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(ok)
    assert info.value.retry_after == pytest.approx(0.1)


def test_liveness_one_permit_two_successes_closes() -> None:
    """The original Node design deadlocked here: one permit, two successes, permit never freed."""
    clock = ManualClock()
    breaker = CircuitBreaker(
        "node-defect",
        failure_threshold=1,
        success_threshold=2,
        half_open_max_calls=1,
        open_timeout=60,
        clock=clock,
    )
    trip(breaker, 1)
    clock.advance(60)
    assert breaker.call(ok) == "ok"
    assert breaker.call(ok) == "ok", "second sequential probe must be admitted"
    assert breaker.state is State.CLOSED


def test_half_open_rejects_extra_concurrent_probe_without_queueing(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    trip(breaker, 3)
    clock.advance(30)
    inner: list[str] = []

    def reentrant() -> str:
        # While this probe holds the only permit, another call is rejected at once.
        with pytest.raises(CircuitOpenError) as info:
            breaker.call(ok)
        inner.append(f"{info.value.retry_after:.1f}")
        return "probe"

    assert breaker.call(reentrant) == "probe"
    assert inner == ["30.0"]  # retry_after = until the held permit would expire
    assert breaker.metrics().rejections == 1


def test_state_property_moves_open_to_half_open_lazily(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    trip(breaker, 3)
    clock.advance(29.999)
    assert breaker.state is State.OPEN
    clock.advance(0.001)
    assert breaker.state is State.HALF_OPEN
    t = breaker.transitions[-1]
    assert (t.from_state, t.to_state, t.at) == (State.OPEN, State.HALF_OPEN, pytest.approx(1030.0))


def test_fallback_receives_the_error_only_on_rejection(breaker: CircuitBreaker) -> None:
    seen: list[CircuitOpenError] = []

    def fallback(error: CircuitOpenError) -> str:
        seen.append(error)
        return "cached"

    with pytest.raises(Boom):  # a failing call is not replaced by the fallback
        breaker.call(fail, fallback=fallback)
    trip(breaker, 2)
    assert breaker.call(ok, fallback=fallback) == "cached"
    assert [e.name for e in seen] == ["svc"]


def test_call_passes_arguments_and_keywords(breaker: CircuitBreaker) -> None:
    def add(a: int, b: int, *, scale: int = 1) -> int:
        return (a + b) * scale

    assert breaker.call(add, 2, 3, scale=10) == 50


def test_force_open_and_reset_record_transitions(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    breaker.force_open()
    assert breaker.state is State.OPEN
    with pytest.raises(CircuitOpenError):
        breaker.call(ok)
    breaker.force_open()  # already open: no OPEN -> OPEN record
    breaker.reset()
    assert breaker.state is State.CLOSED
    assert [(t.from_state, t.to_state, t.reason) for t in breaker.transitions] == [
        (State.CLOSED, State.OPEN, "forced"),
        (State.OPEN, State.CLOSED, "reset"),
    ]
    m = breaker.metrics()
    assert (m.rejections, m.failures, m.successes, m.total_calls) == (0, 0, 0, 0)
    breaker.reset()  # already closed: nothing recorded
    assert len(breaker.transitions) == 2
    breaker.reset(clear_history=True)
    assert breaker.transitions == ()


def test_reset_clears_consecutive_failures(breaker: CircuitBreaker) -> None:
    trip(breaker, 2)
    breaker.reset()
    trip(breaker, 2)
    assert breaker.state is State.CLOSED


def test_every_transition_has_distinct_from_and_to(
    breaker: CircuitBreaker, clock: ManualClock
) -> None:
    for _ in range(3):
        trip(breaker, 3)
        clock.advance(30)
        with pytest.raises(Boom):
            breaker.call(fail)
        clock.advance(30)
        breaker.call(ok)
        breaker.call(ok)
    assert len(breaker.transitions) == 15  # 5 per cycle
    assert all(t.from_state is not t.to_state for t in breaker.transitions)


def test_transition_history_is_bounded(clock: ManualClock) -> None:
    breaker = CircuitBreaker("short", failure_threshold=1, history=3, clock=clock)
    for _ in range(5):
        breaker.force_open()
        breaker.reset()
    assert len(breaker.transitions) == 3
    assert breaker.transitions[-1].reason == "reset"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"failure_threshold": 0}, "failure_threshold must be >= 1"),
        ({"success_threshold": 0}, "success_threshold must be >= 1"),
        ({"half_open_max_calls": 0}, "half_open_max_calls must be >= 1"),
        ({"open_timeout": 0}, "open_timeout must be a positive number"),
        ({"probe_timeout": float("inf")}, "probe_timeout must be a positive number"),
    ],
)
def test_rejects_invalid_configuration(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        CircuitBreaker("bad", **kwargs)  # type: ignore[arg-type]


def test_probe_timeout_defaults_to_open_timeout() -> None:
    assert CircuitBreaker("d", open_timeout=42).probe_timeout == 42.0
    assert CircuitBreaker("d", open_timeout=42, probe_timeout=5).probe_timeout == 5.0
