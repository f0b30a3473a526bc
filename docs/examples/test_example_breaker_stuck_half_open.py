"""Circuit breakers by example, part 3: the stuck-half-open defect and the test that catches it.

The original (Node) design admitted one probe in HALF_OPEN, needed two successes to close, and
reset its "probes in flight" counter only on a state transition. The first probe succeeded,
its permit was never handed back, and every later call was rejected: HALF_OPEN forever.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Protocol

from reference_app.resilience import CircuitBreaker, CircuitOpenError, ManualClock


class Breaker(Protocol):
    def call(self, fn: Callable[[], str]) -> str: ...

    @property
    def state(self) -> str: ...


def recovers(make: Callable[[ManualClock], Breaker]) -> bool:
    """The liveness test: after the timeout, a healthy provider must close the breaker."""
    clock = ManualClock()
    breaker = make(clock)

    def down() -> str:
        raise ConnectionError("down")

    with contextlib.suppress(ConnectionError):
        breaker.call(down)
    clock.advance(60)
    for _ in range(10):  # plenty of healthy probes, one at a time
        with contextlib.suppress(CircuitOpenError):
            breaker.call(lambda: "ok")
    return str(breaker.state) == "CLOSED"


class OriginalDesign:
    """The defect, reduced to its core (for this lesson only)."""

    def __init__(self, clock: ManualClock) -> None:
        self.clock, self.state, self.opened_at = clock, "CLOSED", 0.0
        self.in_flight = self.successes = 0

    def call(self, fn: Callable[[], str]) -> str:
        if self.state == "OPEN" and self.clock() - self.opened_at >= 60:
            self.state, self.in_flight, self.successes = "HALF_OPEN", 0, 0  # reset on transition
        if self.state == "OPEN" or (self.state == "HALF_OPEN" and self.in_flight >= 1):
            raise CircuitOpenError("original", 0)
        if self.state == "HALF_OPEN":
            self.in_flight += 1  # ... and never decremented after the probe returns
        try:
            result = fn()
        except ConnectionError:
            self.state, self.opened_at = "OPEN", self.clock()
            raise
        if self.state == "HALF_OPEN":
            self.successes += 1
            if self.successes >= 2:
                self.state = "CLOSED"
        return result


def test_the_liveness_test_catches_the_original_defect() -> None:
    assert not recovers(OriginalDesign)


def test_the_reference_breaker_recovers_with_one_probe_and_two_successes() -> None:
    assert recovers(
        lambda clock: CircuitBreaker(
            "exotel",
            failure_threshold=1,
            success_threshold=2,
            half_open_max_calls=1,
            open_timeout=60,
            clock=clock,
        )
    )
