"""Decorator form on plain functions: behaviour and signature preservation."""

from __future__ import annotations

import inspect

import pytest

from reference_app.resilience import CircuitBreaker, CircuitOpenError, ManualClock, State


def test_decorator_preserves_metadata_and_signature() -> None:
    breaker = CircuitBreaker("d")

    def place_call(to: str, *, caller_id: str = "0800") -> str:
        """Place a call."""
        return f"{to} from {caller_id}"

    guarded = breaker(place_call)
    assert guarded.__name__ == "place_call"
    assert guarded.__doc__ == "Place a call."
    assert guarded.__wrapped__ is place_call  # type: ignore[attr-defined]
    assert inspect.signature(guarded) == inspect.signature(place_call)
    assert not inspect.iscoroutinefunction(guarded)
    assert guarded("+911234", caller_id="x") == "+911234 from x"


def test_decorated_function_trips_and_recovers() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("d", failure_threshold=2, success_threshold=1, clock=clock)
    healthy = False

    @breaker
    def fetch() -> str:
        if not healthy:
            raise TimeoutError("slow")
        return "order"

    for _ in range(2):
        with pytest.raises(TimeoutError):
            fetch()
    with pytest.raises(CircuitOpenError):
        fetch()
    healthy = True
    clock.advance(60)
    assert fetch() == "order"
    assert breaker.state is State.CLOSED


def test_wrap_with_fallback() -> None:
    breaker = CircuitBreaker("d")
    guarded = breaker.wrap(lambda: "live", fallback=lambda e: f"fallback after {e.name}")
    assert guarded() == "live"
    breaker.force_open()
    assert guarded() == "fallback after d"


def test_slow_path_breakers_decorate_too() -> None:
    """A breaker with a result predicate skips the lock-free fast path; same behaviour."""
    breaker = CircuitBreaker("d", failure_threshold=1, is_failure_result=lambda r: r is None)

    @breaker
    def lookup(key: str) -> str | None:
        return None if key == "missing" else key

    assert lookup("a") == "a"
    assert lookup("missing") is None
    assert breaker.state is State.OPEN
