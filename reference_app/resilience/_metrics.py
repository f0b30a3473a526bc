"""The metrics snapshot a breaker hands out, and the counters behind it."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from ._state import State, Transition

__all__ = ["BreakerMetrics", "Counts"]


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


def _count_value(counter: itertools.count[int]) -> int:
    # itertools.count's next() is atomic under the GIL and cheaper than a lock; its repr is
    # the only way to read it without incrementing ("count(42)").
    return int(repr(counter)[6:-1])


class Counts:
    """One breaker's counts since creation or ``reset()`` (replaced whole on reset).

    ``successes``, ``ignored`` and ``rejections`` are bumped with ``next()`` without a lock
    (hot paths); ``failed()`` is called under the breaker's lock.
    """

    __slots__ = ("failures", "ignored", "last_failure_at", "last_failure_wall", "rejections",
                 "successes")  # fmt: skip

    def __init__(self) -> None:
        self.successes = itertools.count()
        self.ignored = itertools.count()
        self.rejections = itertools.count()
        self.failures = 0
        self.last_failure_at: float | None = None
        self.last_failure_wall: float | None = None

    def failed(self, now: float) -> None:
        self.failures += 1
        self.last_failure_at = now
        self.last_failure_wall = time.time()

    def snapshot(
        self,
        name: str,
        state: State,
        *,
        consecutive: int,
        now: float,
        next_probe_at: float | None,
        probes_in_flight: int,
        transitions: tuple[Transition, ...],
    ) -> BreakerMetrics:
        successes, rejections = _count_value(self.successes), _count_value(self.rejections)
        ignored, failures = _count_value(self.ignored), self.failures
        decided = successes + failures
        return BreakerMetrics(
            name=name,
            state=state,
            successes=successes,
            failures=failures,
            rejections=rejections,
            ignored=ignored,
            total_calls=decided + rejections + ignored,
            failure_rate=failures / decided if decided else 0.0,
            consecutive_failures=consecutive,
            last_failure_at=self.last_failure_at,
            last_failure_wall=self.last_failure_wall,
            next_probe_at=next_probe_at,
            next_probe_in=None if next_probe_at is None else max(0.0, next_probe_at - now),
            probes_in_flight=probes_in_flight,
            transitions=transitions,
        )
