"""A manual clock for deterministic tests and demos."""

from __future__ import annotations

__all__ = ["ManualClock"]


class ManualClock:
    """A monotonic clock that only moves when told to; pass it as ``clock=`` to a breaker."""

    __slots__ = ("_now",)

    def __init__(self, start: float = 0.0) -> None:
        self._now = float(start)

    def __call__(self) -> float:
        return self._now

    def advance(self, seconds: float) -> float:
        """Move forward by ``seconds`` (never backwards) and return the new time."""
        if seconds < 0:
            raise ValueError(f"a monotonic clock cannot go back ({seconds}s)")
        self._now += seconds
        return self._now
