"""ApmRegistry: per-app request, database and external-call metrics with alerts.

Prometheus (``prometheus_client``, one CollectorRegistry per instance, never the global one) is the
store for scraping and aggregation across a fleet; a bounded reservoir per key gives exact-enough
percentiles for the monitoring routes, which Prometheus histograms can only estimate from buckets.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from ._stats import Alert, AlertKind, Series, Stats, combine

UNMATCHED_ROUTE = "unmatched"

_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class ApmRegistry:
    """Metrics for one app instance. Thread-safe. Durations are seconds.

    Alerts fire when a duration is strictly above its threshold (slow_endpoint 5 s, slow_query
    3 s, slow_external 10 s) or memory is at/above ``high_memory_percent``; the newest
    ``max_alerts`` are kept. ``wall_clock`` stamps alerts (default ``time.time`` at call time).
    """

    def __init__(
        self,
        *,
        slow_endpoint: float = 5.0,
        slow_query: float = 3.0,
        slow_external: float = 10.0,
        high_memory_percent: float = 90.0,
        max_alerts: int = 100,
        reservoir_size: int = 1024,
        wall_clock: Callable[[], float] | None = None,
    ) -> None:
        self.slow_endpoint = slow_endpoint
        self.slow_query = slow_query
        self.slow_external = slow_external
        self.high_memory_percent = high_memory_percent
        self._reservoir_size = reservoir_size
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._endpoints: dict[str, Series] = {}
        self._db: dict[str, Series] = {}
        self._externals: dict[tuple[str, str], Series] = {}
        self._alerts: deque[Alert] = deque(maxlen=max_alerts)
        self._memory_high = False
        # Hot-path caches: (series, prometheus children) per label set, so a request costs no
        # labels() lookups. Cleared by reset() together with the children they point to.
        self._request_cache: dict[tuple[str, str, int], tuple[Series, Any]] = {}
        self._db_cache: dict[tuple[str, bool], tuple[Series, Any]] = {}
        self._external_cache: dict[tuple[str, str, bool], tuple[Series, Any]] = {}
        self.prometheus = CollectorRegistry(auto_describe=True)
        self._request_seconds = Histogram(
            "http_request_duration_seconds",
            "HTTP request duration by method, route template and status class (its _count is the"
            " request count).",
            ("method", "route", "status_class"),
            buckets=_BUCKETS,
            registry=self.prometheus,
        )
        self._db_seconds = Histogram(
            "db_operation_duration_seconds",
            "Database operation duration by operation and outcome.",
            ("operation", "outcome"),
            buckets=_BUCKETS,
            registry=self.prometheus,
        )
        self._external_seconds = Histogram(
            "external_call_duration_seconds",
            "Outbound provider call duration by provider, operation and outcome.",
            ("provider", "operation", "outcome"),
            buckets=_BUCKETS,
            registry=self.prometheus,
        )
        self._alert_count = Counter(
            "apm_alerts", "APM alerts raised, by kind.", ("kind",), registry=self.prometheus
        )
        self._memory_percent = Gauge(
            "system_memory_percent", "Last sampled system memory use (%).", registry=self.prometheus
        )
        self._labelled = (
            self._request_seconds,
            self._db_seconds,
            self._external_seconds,
            self._alert_count,
        )

    # -- recording ---------------------------------------------------------------------------

    def record_request(
        self, method: str, route_template: str, status: int, duration: float
    ) -> None:
        """One HTTP request; an error is a status >= 500."""
        status_class = status // 100
        entry = self._request_cache.get((method, route_template, status_class))
        if entry is None:
            entry = self._request_entry(method, route_template, status_class)
        series, histogram = entry
        with self._lock:
            series.add(duration, error=status >= 500)
        histogram.observe(duration)
        if duration > self.slow_endpoint:
            self._alert("slow_endpoint", f"{method} {route_template}", duration, self.slow_endpoint)

    def record_db(self, operation: str, duration: float, *, error: bool = False) -> None:
        entry = self._db_cache.get((operation, error))
        if entry is None:
            with self._lock:
                series = self._series(self._db, operation)
                child = self._db_seconds.labels(operation, "error" if error else "ok")
                entry = self._db_cache[(operation, error)] = (series, child)
        series, histogram = entry
        with self._lock:
            series.add(duration, error=error)
        histogram.observe(duration)
        if duration > self.slow_query:
            self._alert("slow_query", operation, duration, self.slow_query)

    def record_external(self, provider: str, operation: str, duration: float, *, ok: bool) -> None:
        entry = self._external_cache.get((provider, operation, ok))
        if entry is None:
            with self._lock:
                series = self._series(self._externals, (provider, operation))
                child = self._external_seconds.labels(provider, operation, "ok" if ok else "error")
                entry = self._external_cache[(provider, operation, ok)] = (series, child)
        series, histogram = entry
        with self._lock:
            series.add(duration, error=not ok)
        histogram.observe(duration)
        if duration > self.slow_external:
            self._alert("slow_external", f"{provider}.{operation}", duration, self.slow_external)

    def record_memory(self, percent: float) -> None:
        """A system memory sample (percent). Alerts when it reaches ``high_memory_percent``, once
        per episode: samples that stay high don't flood the bounded alert list; dropping below
        the threshold re-arms the alert."""
        self._memory_percent.set(percent)
        high = percent >= self.high_memory_percent
        with self._lock:
            new_episode = high and not self._memory_high
            self._memory_high = high
        if new_episode:
            self._alert("high_memory", "system", percent, self.high_memory_percent)

    # -- views -------------------------------------------------------------------------------

    def endpoint(self, key: str) -> Stats:
        """Stats for ``"METHOD /route/{template}"`` (unmatched paths: ``"GET unmatched"``)."""
        with self._lock:
            series = self._endpoints.get(key)
            return combine([series] if series else [])

    def endpoints(self) -> dict[str, Stats]:
        with self._lock:
            return {key: combine([s]) for key, s in sorted(self._endpoints.items())}

    def db(self, operation: str | None = None) -> Stats:
        """All database operations, or one."""
        with self._lock:
            return combine(s for op, s in self._db.items() if operation in (None, op))

    def db_operations(self) -> dict[str, Stats]:
        with self._lock:
            return {op: combine([s]) for op, s in sorted(self._db.items())}

    def external(self, provider: str, operation: str | None = None) -> Stats:
        """One provider over all its operations, or one operation of it."""
        with self._lock:
            return combine(
                s
                for (p, op), s in self._externals.items()
                if p == provider and operation in (None, op)
            )

    def externals(self) -> dict[str, Stats]:
        """Per provider, aggregated over operations."""
        with self._lock:
            providers = sorted({p for p, _ in self._externals})
        return {p: self.external(p) for p in providers}

    def external_operations(self) -> dict[str, Stats]:
        """Per ``"provider.operation"``."""
        with self._lock:
            return {f"{p}.{op}": combine([s]) for (p, op), s in sorted(self._externals.items())}

    @property
    def alerts(self) -> list[Alert]:
        """Oldest first, at most ``max_alerts``."""
        with self._lock:
            return list(self._alerts)

    def slowest_endpoints(self, limit: int = 5) -> list[dict[str, Any]]:
        """Endpoints by descending p95, then max."""
        ranked = sorted(
            self.endpoints().items(), key=lambda kv: (kv[1].p95, kv[1].max), reverse=True
        )
        return [{"endpoint": key, **stats.as_dict()} for key, stats in ranked[:limit]]

    def summary(self) -> dict[str, Any]:
        """Everything, JSON-able."""
        endpoints = self.endpoints()
        requests = sum(s.count for s in endpoints.values())
        errors = sum(s.errors for s in endpoints.values())
        return {
            "requests": {
                "count": requests,
                "errors": errors,
                "error_rate": errors / requests if requests else 0.0,
            },
            "endpoints": {key: s.as_dict() for key, s in endpoints.items()},
            "slowest_endpoints": self.slowest_endpoints(),
            "database": {
                **self.db().as_dict(),
                "operations": {op: s.as_dict() for op, s in self.db_operations().items()},
            },
            "externals": {
                provider: {
                    **stats.as_dict(),
                    "operations": {
                        key.split(".", 1)[1]: s.as_dict()
                        for key, s in self.external_operations().items()
                        if key.split(".", 1)[0] == provider
                    },
                }
                for provider, stats in self.externals().items()
            },
            "alerts": [a.as_dict() for a in self.alerts],
        }

    def prometheus_text(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.prometheus)

    def reset(self) -> None:
        """Forget everything recorded (Prometheus counters restart at zero, as after a restart)."""
        with self._lock:
            self._request_cache.clear()
            self._db_cache.clear()
            self._external_cache.clear()
            self._endpoints.clear()
            self._db.clear()
            self._externals.clear()
            self._alerts.clear()
            self._memory_high = False
        for metric in self._labelled:
            metric.clear()
        self._memory_percent.set(0)

    # -- internals ---------------------------------------------------------------------------

    def _request_entry(
        self, method: str, route_template: str, status_class: int
    ) -> tuple[Series, Any]:
        with self._lock:
            series = self._series(self._endpoints, f"{method} {route_template}")
            histogram = self._request_seconds.labels(method, route_template, f"{status_class}xx")
            entry = (series, histogram)
            self._request_cache[(method, route_template, status_class)] = entry
            return entry

    def _series(self, table: dict[Any, Series], key: Any) -> Series:
        series = table.get(key)
        if series is None:
            series = table[key] = Series(self._reservoir_size)
        return series

    def _alert(self, kind: AlertKind, subject: str, value: float, threshold: float) -> None:
        at = self._wall_clock() if self._wall_clock is not None else time.time()
        with self._lock:
            self._alerts.append(Alert(kind, subject, value, at, threshold))
        self._alert_count.labels(kind).inc()
