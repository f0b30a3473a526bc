"""Trip policies: when does a CLOSED breaker open?

The breaker's default (``trip_policy=None``) is "``failure_threshold`` consecutive failures",
implemented inline in the breaker for speed; :class:`ConsecutiveFailures` is the same rule as an
explicit object. :class:`FailureRate` is the resilience4j count-based sliding window.

A policy object holds state for one breaker: do not share an instance between breakers.
"""

from __future__ import annotations

from collections import deque
from typing import Protocol, runtime_checkable

__all__ = ["ConsecutiveFailures", "FailureRate", "TripPolicy"]


@runtime_checkable
class TripPolicy(Protocol):
    """Decides, outcome by outcome while CLOSED, whether the breaker should open."""

    def record(self, failed: bool) -> str | None:
        """Record one outcome; return a human-readable reason to open now, else ``None``."""
        ...

    def reset(self) -> None:
        """Forget everything (called whenever the breaker enters CLOSED)."""
        ...


class ConsecutiveFailures:
    """Open after ``threshold`` failures in a row; any success resets the count."""

    __slots__ = ("_count", "threshold")

    def __init__(self, threshold: int = 5) -> None:
        if threshold < 1:
            raise ValueError(f"threshold must be >= 1, got {threshold}")
        self.threshold = threshold
        self._count = 0

    def record(self, failed: bool) -> str | None:
        if not failed:
            self._count = 0
            return None
        self._count += 1
        if self._count >= self.threshold:
            return f"{self._count} consecutive failures"
        return None

    def reset(self) -> None:
        self._count = 0


class FailureRate:
    """Open when failures are at least ``threshold`` (0-1] of the last ``window`` calls.

    No decision is taken before ``minimum_calls`` outcomes are in the window, so one early
    failure cannot open the breaker at a 100 % rate.
    """

    __slots__ = ("_failures", "_outcomes", "minimum_calls", "threshold", "window")

    def __init__(
        self, threshold: float = 0.5, *, window: int = 100, minimum_calls: int = 10
    ) -> None:
        if not 0.0 < threshold <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {threshold}")
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        if not 1 <= minimum_calls <= window:
            raise ValueError(f"minimum_calls must be in [1, window={window}], got {minimum_calls}")
        self.threshold = threshold
        self.window = window
        self.minimum_calls = minimum_calls
        self._outcomes: deque[bool] = deque(maxlen=window)
        self._failures = 0

    @property
    def failure_rate(self) -> float:
        """Failure rate over the current window (0.0 when empty)."""
        n = len(self._outcomes)
        return self._failures / n if n else 0.0

    def record(self, failed: bool) -> str | None:
        outcomes = self._outcomes
        if len(outcomes) == outcomes.maxlen and outcomes[0]:
            self._failures -= 1  # the oldest outcome falls out of the window
        outcomes.append(failed)
        if failed:
            self._failures += 1
        n = len(outcomes)
        if n >= self.minimum_calls and self._failures / n >= self.threshold:
            return f"failure rate {self._failures / n:.0%} over last {n} calls"
        return None

    def reset(self) -> None:
        self._outcomes.clear()
        self._failures = 0
