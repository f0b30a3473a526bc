"""When a sleep may be virtual: on a clock that is running.

A virtual back-off moves the clock instead of sleeping. A sleep that comes after the clock
stopped (a thread still retrying when the test ended, an app kept running for the next test)
or that races its stop has no clock to move: it sleeps for real, as it would in production,
instead of failing in a thread that has nowhere to raise.
"""

from __future__ import annotations

from typing import Protocol

__all__ = ["ClockNotRunning", "moved"]


class ClockNotRunning(RuntimeError):
    """The clock was stopped (or never started): nothing to move."""


class _Clock(Protocol):
    def advance(self, seconds: float) -> None: ...


def moved(clock: _Clock, seconds: float) -> bool:
    """Whether ``clock`` moved by ``seconds`` in place of a sleep: False when it is not
    running (the caller then sleeps for real). Its other errors are raised."""
    try:
        clock.advance(seconds)
    except ClockNotRunning:
        return False
    return True
