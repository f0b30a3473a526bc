"""PrometheusView: the ``apm`` view of an app that keeps its metrics in prometheus_client.

Prometheus counters and histograms only ever grow, and the registry usually lives as long as
the process: the view takes a snapshot when the test starts and reports what changed since,
so each test sees the traffic it caused, in any order and under reuse. Request metrics are
recognised by their labels, as the common instrumentations write them
(prometheus-fastapi-instrumentator, starlette-exporter, hand-written middleware): a method
label, a route label (``handler``, ``path``, ``route``, ``endpoint``) and, optionally, a status
label (``status``, ``status_code``, ``code``; ``5xx`` counts as an error). A family named for
the app's calls out (``external_service_requests_total``, ``upstream_...``) has the same
labels, for the provider's path: it is no request to the app. Latencies come from a
histogram's buckets: a percentile is the upper bound of the bucket it falls in.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, fields
from typing import Any

__all__ = ["PrometheusView", "RequestStats", "is_prometheus_registry"]

_ROUTE_LABELS = ("handler", "path", "route", "endpoint", "path_template")
_STATUS_LABELS = ("status", "status_code", "code")

#: (sample name, sorted label pairs)
_Key = tuple[str, tuple[tuple[str, str], ...]]


def is_prometheus_registry(obj: Any) -> bool:
    """A prometheus_client ``CollectorRegistry`` (or anything collected the same way)."""
    return callable(getattr(obj, "collect", None)) and callable(
        getattr(obj, "get_sample_value", None)
    )


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


class PrometheusView:
    """What a prometheus_client registry recorded since :meth:`start`."""

    def __init__(self, registry: Any, *, refused: list[str] | None = None) -> None:
        """``refused``: the app's metrics whose registration in ``registry`` was refused, for
        the note of a zero count (a list the harness fills as it happens)."""
        if not is_prometheus_registry(registry):
            raise TypeError(f"{type(registry).__name__!r} is not a prometheus_client registry")
        self.registry = registry
        self._base: dict[_Key, float] = {}
        self._refused = refused if refused is not None else []

    def start(self) -> PrometheusView:
        self._base = dict(self._read())
        return self

    def reset(self) -> None:
        """From now on, count from zero again."""
        self.start()

    # -- any metric --------------------------------------------------------------------------
    def changes(self) -> dict[_Key, float]:
        """Every sample that moved since the start: ``(name, labels) -> delta``."""
        base = self._base
        moved = {key: value - base.get(key, 0.0) for key, value in self._read()}
        return {key: delta for key, delta in moved.items() if delta}

    def sample(self, name: str, **labels: str) -> float:
        """How much ``name`` (a sample name, e.g. ``payments_total``) grew since the start,
        summed over the series whose labels include ``labels``."""
        wanted = set(labels.items())
        grown = sum(
            delta
            for (sample, pairs), delta in self.changes().items()
            if sample == name and wanted <= set(pairs)
        )
        if not grown and not self._known(name):  # a typo would read as "nothing happened"
            raise KeyError(self._unknown(name))
        return grown

    def _known(self, name: str) -> bool:
        """Whether the registry has ``name``: a sample of it, or a family it would be a sample
        of (a labelled counter no series of which exists yet has no samples)."""
        for metric in self.registry.collect():
            if any(sample.name == name for sample in metric.samples):
                return True
            suffix = name[len(metric.name) :] if name.startswith(metric.name) else None
            if suffix in _SUFFIXES:
                return True
        return False

    def _unknown(self, name: str) -> str:
        import difflib

        metrics = [m for m in self.registry.collect() if m.name not in _RUNTIME]
        # Not a sample's creation time (`_created`): no test asserts that it grew.
        names = {m.name for m in metrics} | {
            s.name for m in metrics for s in m.samples if not s.name.endswith("_created")
        }
        close = difflib.get_close_matches(name, sorted(names), n=3, cutoff=0.6)
        seen = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        return f"the registry has no metric {name!r} (nor a family it belongs to){seen}"

    # -- the request view the reference app's registry offers too ----------------------------
    def endpoint(self, key: str) -> RequestStats:
        """Requests to one route since the start: ``endpoint("GET /items/{item_id}")``."""
        method, _, route = key.partition(" ")
        if not route:
            raise ValueError(
                f"expected 'METHOD /route', e.g. 'GET /items/{{item_id}}'; got {key!r}"
            )
        # Per family: an app may count each request in two (http_requests_total and
        # fastapi_requests_total) and keep size histograms with the same labels; summing them
        # doubled the count and mixed bytes into seconds.
        totals: dict[str, float] = {}
        errors: dict[str, float] = {}
        with_status: set[str] = set()
        buckets: dict[str, dict[float, float]] = {}
        counts: dict[str, float] = {}
        for (name, pairs), delta in self.changes().items():
            labels = dict(pairs)
            if labels.get("method", "").upper() != method.upper() or _outbound(name):
                continue
            if not any(labels.get(label) == route for label in _ROUTE_LABELS):
                continue
            if name.endswith("_total"):
                family = name[: -len("_total")]
                totals[family] = totals.get(family, 0.0) + delta
                if _status(labels):
                    with_status.add(family)
                if _status(labels).startswith("5"):
                    errors[family] = errors.get(family, 0.0) + delta
            elif name.endswith("_bucket") and "le" in labels:
                histogram = buckets.setdefault(name[: -len("_bucket")], {})
                bound = float(labels["le"])
                histogram[bound] = histogram.get(bound, 0.0) + delta
            elif name.endswith("_count"):
                family_name = name[: -len("_count")]
                counts[family_name] = counts.get(family_name, 0.0) + delta
        if not totals and not buckets and not self._has_request_metrics():
            raise LookupError(
                "the prometheus registry has no request metric with a method and a route label "
                f"({', '.join(_ROUTE_LABELS)}): read your own metrics with apm.sample(name, "
                "**labels) or apm.changes()"
            )
        latency = _latency_family(buckets)
        counter = min(
            (f for f in totals if not _SIZE.search(f)),
            key=lambda f: (f not in with_status, "request" not in f, f),
            default=None,
        )
        # A request counter when there is one (with a status label, for the errors); else the
        # latency histogram's own count.
        if counter is not None:
            count, failed = totals[counter], errors.get(counter, 0.0)
        else:
            count, failed = (counts.get(latency, 0.0) if latency else 0.0), 0.0
        chosen = buckets.get(latency, {}) if latency else {}
        return RequestStats(
            count=int(count),
            errors=int(failed),
            p50=_quantile(chosen, 0.50),
            p95=_quantile(chosen, 0.95),
            max=_quantile(chosen, 1.0),
            note="" if count else self._why_zero(f"{method.upper()} {route}"),
        )

    def _why_zero(self, key: str) -> str:
        # A route never seen may be a typo: zero is still the answer (a test may assert that a
        # route had no traffic), with the endpoints that moved since the start to compare
        # against (the registry is the process's: earlier tests' apps left series in it).
        seen = sorted(
            {
                f"{labels['method'].upper()} {route}"
                for name, labels in ((n, dict(pairs)) for (n, pairs) in self.changes())
                if "method" in labels and not _outbound(name)
                for route in (labels.get(label) for label in _ROUTE_LABELS)
                if route is not None
            }
        )
        notes = (
            [f"no series for {key} (a typo?); seen: {', '.join(seen)}"]
            if seen and key not in seen
            else []
        )
        if not seen and not self._refused:
            notes.append("no request was recorded since the test began")
        if self._refused:
            notes.append(
                f"not registered for this app: {', '.join(self._refused)}, held by collectors "
                "made outside the fixtures (at import, or by an app built without them, alive)"
            )
        return "; ".join(notes)

    def external(self, provider: str) -> Any:
        raise TypeError(_NO_STANDARD.format(what="external calls"))

    def db(self, operation: str | None = None) -> Any:
        raise TypeError(_NO_STANDARD.format(what="database operations"))

    @property
    def alerts(self) -> list[Any]:
        raise TypeError(_NO_STANDARD.format(what="alerts"))

    def summary(self) -> dict[str, float]:
        """The samples that moved, by name and labels, as text keys (for a failure message)."""
        return {_text(key): delta for key, delta in sorted(self.changes().items())}

    # -- reading -----------------------------------------------------------------------------
    def _read(self) -> Iterator[tuple[_Key, float]]:
        for metric in self.registry.collect():
            if metric.name in _RUNTIME:
                continue  # the process's own, not the app's: CPU seconds move in every test
            for sample in metric.samples:
                if sample.name.endswith("_created"):
                    continue  # when a series was created: a timestamp, not a count
                yield (sample.name, tuple(sorted(sample.labels.items()))), float(sample.value)

    def _has_request_metrics(self) -> bool:
        for (name, pairs), _value in self._read():
            labels = dict(pairs)
            if _outbound(name):
                continue
            if "method" in labels and any(label in labels for label in _ROUTE_LABELS):
                return True
        return False


#: What a family's samples add to its name (a counter's ``_total``, a histogram's ``_bucket``).
_SUFFIXES = ("", "_total", "_created", "_count", "_sum", "_bucket", "_info", "_gcount", "_gsum")

#: The families prometheus_client's default collectors add to the default registry (process,
#: garbage collector, platform), as ``collect()`` names them.
_RUNTIME = frozenset(
    {
        "process_virtual_memory_bytes",
        "process_resident_memory_bytes",
        "process_start_time_seconds",
        "process_cpu_seconds",
        "process_open_fds",
        "process_max_fds",
        "python_gc_objects_collected",
        "python_gc_objects_uncollectable",
        "python_gc_collections",
        "python_info",
    }
)

_NO_STANDARD = (
    "prometheus metrics have no standard name for {what}: read them with "
    "apm.sample('<metric>_total', **labels) or apm.changes()"
)


#: Histograms of sizes (request and response bytes) carry the same labels as the latency one.
_SIZE = re.compile(r"size|bytes", re.IGNORECASE)
_LATENCY = re.compile(r"duration|latency|seconds|time", re.IGNORECASE)


def _latency_family(buckets: dict[str, dict[float, float]]) -> str | None:
    """The request-latency histogram among ``buckets``' families: never a size histogram;
    one named for time (duration, latency, seconds) before any other."""
    timed = [f for f in buckets if not _SIZE.search(f)]
    return min(timed, key=lambda f: (not _LATENCY.search(f), f), default=None)


#: Words of a family's name that make it the app's calls out, not requests to it.
_OUTBOUND = frozenset(
    {"external", "outbound", "egress", "upstream", "downstream", "dependency", "provider"}
)


def _outbound(name: str) -> bool:
    """``name`` (a sample's) is of a family counting the app's calls to other services."""
    return not _OUTBOUND.isdisjoint(part.rstrip("s") for part in name.lower().split("_"))


def _status(labels: dict[str, str]) -> str:
    return next((labels[label] for label in _STATUS_LABELS if label in labels), "")


def _quantile(buckets: dict[float, float], q: float) -> float:
    """The upper bound of the bucket holding quantile ``q`` (the buckets are cumulative)."""
    ordered = sorted(buckets.items())
    total = ordered[-1][1] if ordered else 0.0
    if total <= 0:
        return 0.0
    wanted = max(q * total, math.ulp(total))
    return next((bound for bound, seen in ordered if seen >= wanted), math.inf)


def _text(key: _Key) -> str:
    name, pairs = key
    return f"{name}{{{', '.join(f'{k}={v!r}' for k, v in pairs)}}}" if pairs else name
