"""Circuit breakers by example, part 1: the life cycle CLOSED → OPEN → HALF_OPEN → CLOSED.

Every test drives a real ``reference_app.resilience.CircuitBreaker`` on a ``ManualClock``:
time moves only when the test says so, so a 60-second open timeout costs nothing.
"""

from __future__ import annotations

import contextlib

import pytest

from reference_app.resilience import CircuitBreaker, CircuitOpenError, ManualClock, State


class ProviderDown(ConnectionError):
    """What a failing provider call raises in these examples."""


def failing() -> str:
    raise ProviderDown("connection refused")


def healthy() -> str:
    return "ok"


def test_opens_after_n_consecutive_failures() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("exotel", failure_threshold=5, clock=clock)
    for _ in range(4):
        with pytest.raises(ProviderDown):
            breaker.call(failing)
    assert breaker.state == State.CLOSED  # 4 failures: still closed
    with pytest.raises(ProviderDown):
        breaker.call(failing)
    assert breaker.state == State.OPEN  # the 5th consecutive failure opens it


def test_a_success_resets_the_consecutive_count() -> None:
    breaker = CircuitBreaker("exotel", failure_threshold=3, clock=ManualClock())
    for outcome in (failing, failing, healthy, failing, failing):
        with contextlib.suppress(ProviderDown):
            breaker.call(outcome)
    assert breaker.state == State.CLOSED  # never 3 failures in a row


def test_fails_fast_while_open() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("exotel", failure_threshold=1, open_timeout=60, clock=clock)
    with pytest.raises(ProviderDown):
        breaker.call(failing)
    clock.advance(15)
    calls: list[str] = []
    with pytest.raises(CircuitOpenError) as info:
        breaker.call(lambda: calls.append("reached the provider"))
    assert calls == []  # the provider was not even tried
    assert info.value.name == "exotel"
    assert info.value.retry_after == pytest.approx(45)  # seconds until the next probe


def test_half_open_after_the_timeout_then_closes_after_enough_successes() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker(
        "exotel", failure_threshold=1, success_threshold=2, open_timeout=60, clock=clock
    )
    with pytest.raises(ProviderDown):
        breaker.call(failing)
    clock.advance(60)
    assert breaker.state == State.HALF_OPEN  # the timeout elapsed: probes are admitted
    assert breaker.call(healthy) == "ok"
    assert breaker.state == State.HALF_OPEN  # one success is not enough
    assert breaker.call(healthy) == "ok"
    assert breaker.state == State.CLOSED
    assert [(t.from_state, t.to_state) for t in breaker.transitions] == [
        (State.CLOSED, State.OPEN),
        (State.OPEN, State.HALF_OPEN),
        (State.HALF_OPEN, State.CLOSED),
    ]


def test_a_failed_probe_reopens_for_another_full_timeout() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("exotel", failure_threshold=1, open_timeout=60, clock=clock)
    with pytest.raises(ProviderDown):
        breaker.call(failing)
    clock.advance(60)
    with pytest.raises(ProviderDown):
        breaker.call(failing)  # the probe fails ...
    assert breaker.state == State.OPEN  # ... and the breaker reopens
    assert breaker.transitions[-1].reason == "probe failed"
    clock.advance(59)
    with pytest.raises(CircuitOpenError):
        breaker.call(healthy)  # the timeout starts again from the failed probe
    clock.advance(1)
    assert breaker.state == State.HALF_OPEN
