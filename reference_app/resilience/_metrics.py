"""The metrics snapshot a breaker hands out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ._state import State, Transition

__all__ = ["BreakerMetrics"]


@dataclass(frozen=True, slots=True)
class BreakerMetrics:
    """A consistent, immutable snapshot of one breaker (counts since creation or ``reset()``).

    Counts: ``successes`` and ``failures`` are completed calls as classified; ``ignored`` are
    calls that ended with an ignored or unlisted exception or a cancellation; ``rejections``
    never reached the function; ``total_calls`` is their sum (calls still in flight are not
    counted yet). ``failure_rate`` is ``failures / (successes + failures)``.

    Times ending in ``_at`` are on the breaker clock (monotonic); ``_wall`` ones are
    ``time.time()``. ``next_probe_in`` is seconds until a probe may be admitted: ``None`` while
    CLOSED, ``0.0`` when a probe would be admitted right now.
    """

    name: str
    state: State
    successes: int
    failures: int
    rejections: int
    ignored: int
    total_calls: int
    failure_rate: float
    consecutive_failures: int
    last_failure_at: float | None
    last_failure_wall: float | None
    next_probe_at: float | None
    next_probe_in: float | None
    probes_in_flight: int
    transitions: tuple[Transition, ...]

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form (for monitoring routes and reports)."""
        return {
            "name": self.name,
            "state": self.state.value,
            "successes": self.successes,
            "failures": self.failures,
            "rejections": self.rejections,
            "ignored": self.ignored,
            "total_calls": self.total_calls,
            "failure_rate": self.failure_rate,
            "consecutive_failures": self.consecutive_failures,
            "last_failure_at": self.last_failure_at,
            "last_failure_wall": self.last_failure_wall,
            "next_probe_at": self.next_probe_at,
            "next_probe_in": self.next_probe_in,
            "probes_in_flight": self.probes_in_flight,
            "transitions": [t.as_dict() for t in self.transitions],
        }
