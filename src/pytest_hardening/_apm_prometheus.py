"""PrometheusView: the ``apm`` view of an app that keeps its metrics in prometheus_client.

Prometheus counters and histograms only ever grow, and the registry usually lives as long as
the process: the view takes a snapshot when the test starts and reports what changed since,
so each test sees the traffic it caused, in any order and under reuse. Which samples are
requests to the app, and how their latencies are read, is :mod:`._apm_requests`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._apm_requests import (
    ROUTE_LABELS,
    RequestStats,
    latency_family,
    outbound,
    quantile,
    request_counter,
    status,
)

__all__ = ["PrometheusView", "is_prometheus_registry"]

#: (sample name, sorted label pairs)
_Key = tuple[str, tuple[tuple[str, str], ...]]


def is_prometheus_registry(obj: Any) -> bool:
    """A prometheus_client ``CollectorRegistry`` (or anything collected the same way)."""
    return callable(getattr(obj, "collect", None)) and callable(
        getattr(obj, "get_sample_value", None)
    )


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
            if labels.get("method", "").upper() != method.upper() or outbound(name):
                continue
            if not any(labels.get(label) == route for label in ROUTE_LABELS):
                continue
            if name.endswith("_total"):
                family = name[: -len("_total")]
                totals[family] = totals.get(family, 0.0) + delta
                if status(labels):
                    with_status.add(family)
                if status(labels).startswith("5"):
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
                f"({', '.join(ROUTE_LABELS)}): read your own metrics with apm.sample(name, "
                "**labels) or apm.changes()"
            )
        latency = latency_family(buckets)
        counter = request_counter(totals, with_status)
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
            p50=quantile(chosen, 0.50),
            p95=quantile(chosen, 0.95),
            max=quantile(chosen, 1.0),
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
                if "method" in labels and not outbound(name)
                for route in (labels.get(label) for label in ROUTE_LABELS)
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
            if outbound(name):
                continue
            if "method" in labels and any(label in labels for label in ROUTE_LABELS):
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


def _text(key: _Key) -> str:
    name, pairs = key
    return f"{name}{{{', '.join(f'{k}={v!r}' for k, v in pairs)}}}" if pairs else name
