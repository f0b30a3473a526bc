"""Stats snapshots, alerts and the percentile helper behind them."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
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
        # Field by field: dataclasses.asdict deep-copies each value, and the health and metrics
        # routes build one of these per endpoint, provider and query on every request.
        values = {name: getattr(self, name) for name in _STATS_FIELDS}
        values["successes"] = self.successes
        return values


_STATS_FIELDS = tuple(f.name for f in fields(Stats))


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
