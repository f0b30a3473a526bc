"""Stats snapshots, alerts and the bounded per-key duration series behind them."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

AlertKind = Literal["slow_endpoint", "slow_query", "slow_external", "high_memory"]


@dataclass(frozen=True, slots=True)
class Stats:
    """A snapshot in seconds. count/errors/avg/min/max are exact over everything recorded since the
    last reset; the percentiles come from the most recent durations (a bounded reservoir)."""

    count: int = 0
    errors: int = 0
    error_rate: float = 0.0
    min: float = 0.0
    avg: float = 0.0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    max: float = 0.0

    @property
    def successes(self) -> int:
        return self.count - self.errors

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "successes": self.successes}


@dataclass(frozen=True, slots=True)
class Alert:
    """A threshold crossing. ``duration`` is seconds for the slow_* kinds and the memory percent
    for ``high_memory``; ``at`` is wall-clock epoch seconds."""

    kind: AlertKind
    subject: str
    duration: float
    at: float
    threshold: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(ordered: list[float], q: float) -> float:
    """Linearly interpolated percentile (q in [0, 100]) of an ascending, non-empty list."""
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


class Series:
    """Exact totals plus a ring of the last ``size`` durations. Not locked: the registry locks."""

    __slots__ = ("count", "errors", "maximum", "minimum", "recent", "total")

    def __init__(self, size: int) -> None:
        self.count = 0
        self.errors = 0
        self.total = 0.0
        self.minimum = math.inf
        self.maximum = 0.0
        self.recent: deque[float] = deque(maxlen=size)

    def add(self, duration: float, *, error: bool) -> None:
        self.count += 1
        self.errors += error
        self.total += duration
        self.minimum = min(self.minimum, duration)
        self.maximum = max(self.maximum, duration)
        self.recent.append(duration)


def combine(series: Iterable[Series]) -> Stats:
    """One Stats over several series (e.g. every operation of one provider)."""
    count = errors = 0
    total = 0.0
    low, high = math.inf, 0.0
    recent: list[float] = []
    for s in series:
        count += s.count
        errors += s.errors
        total += s.total
        low, high = min(low, s.minimum), max(high, s.maximum)
        recent.extend(s.recent)
    if count == 0:
        return Stats()
    recent.sort()
    return Stats(
        count=count,
        errors=errors,
        error_rate=errors / count,
        min=low,
        avg=total / count,
        p50=percentile(recent, 50),
        p95=percentile(recent, 95),
        p99=percentile(recent, 99),
        max=high,
    )
