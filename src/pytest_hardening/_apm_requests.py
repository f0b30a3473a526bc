"""RequestStats, and how prometheus samples are read as requests to the app.

The request metrics of the common instrumentations (prometheus-fastapi-instrumentator,
starlette-exporter, hand-written middleware) are recognised by their labels: a method, a route
(``handler``, ``path``, ``route``, ``endpoint``) and, optionally, a status (``status``,
``status_code``, ``code``; ``5xx`` counts as an error). A family named for the app's calls out
(``external_service_requests_total``, ``upstream_...``) has the same labels: it is no request
to the app. Latencies come from a histogram's buckets: a percentile is the upper bound of the
bucket it falls in. The view that sums them per route is :class:`~._apm_prometheus.PrometheusView`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields

__all__ = [
    "ROUTE_LABELS",
    "RequestStats",
    "latency_family",
    "outbound",
    "quantile",
    "request_counter",
    "status",
]

ROUTE_LABELS = ("handler", "path", "route", "endpoint", "path_template")
_STATUS_LABELS = ("status", "status_code", "code")


@dataclass(frozen=True)
class RequestStats:
    """One route's requests during the test. ``p50``/``p95``/``max`` are histogram bucket
    upper bounds in seconds (``inf`` past the last bucket, 0.0 without a histogram)."""

    count: int
    errors: int
    p50: float
    p95: float
    max: float
    #: Why a count may be zero for a reason other than no traffic (a route with no metric at
    #: all, the app's metrics not registered); shown in the repr, which a failing assert prints.
    note: str = field(default="", compare=False)

    def __repr__(self) -> str:
        shown = [f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.name != "note"]
        if self.note:
            shown.append(f"note={self.note!r}")
        return f"RequestStats({', '.join(shown)})"

    @property
    def error_rate(self) -> float:
        return self.errors / self.count if self.count else 0.0


#: Histograms of sizes (request and response bytes) carry the same labels as the latency one.
_SIZE = re.compile(r"size|bytes", re.IGNORECASE)
_LATENCY = re.compile(r"duration|latency|seconds|time", re.IGNORECASE)


def request_counter(totals: dict[str, float], with_status: set[str]) -> str | None:
    """The request counter among ``totals``' families: never a size counter; one with a
    status label (for the errors) before one without, one named for requests before others."""
    return min(
        (f for f in totals if not _SIZE.search(f)),
        key=lambda f: (f not in with_status, "request" not in f, f),
        default=None,
    )


def latency_family(buckets: dict[str, dict[float, float]]) -> str | None:
    """The request-latency histogram among ``buckets``' families: never a size histogram;
    one named for time (duration, latency, seconds) before any other."""
    timed = [f for f in buckets if not _SIZE.search(f)]
    return min(timed, key=lambda f: (not _LATENCY.search(f), f), default=None)


#: Words of a family's name that make it the app's calls out, not requests to it.
_OUTBOUND = frozenset(
    {"external", "outbound", "egress", "upstream", "downstream", "dependency", "provider"}
)


def outbound(name: str) -> bool:
    """``name`` (a sample's) is of a family counting the app's calls to other services."""
    return not _OUTBOUND.isdisjoint(part.rstrip("s") for part in name.lower().split("_"))


def status(labels: dict[str, str]) -> str:
    return next((labels[label] for label in _STATUS_LABELS if label in labels), "")


def quantile(buckets: dict[float, float], q: float) -> float:
    """The upper bound of the bucket holding quantile ``q`` (the buckets are cumulative)."""
    ordered = sorted(buckets.items())
    total = ordered[-1][1] if ordered else 0.0
    if total <= 0:
        return 0.0
    wanted = max(q * total, math.ulp(total))
    return next((bound for bound, seen in ordered if seen >= wanted), math.inf)
