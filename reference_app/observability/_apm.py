"""ApmRegistry: per-app request, database and external-call metrics with alerts.

Prometheus (``prometheus_client``, one CollectorRegistry per instance, never the global one) is the
store for scraping and aggregation across a fleet; a bounded reservoir per key gives exact-enough
percentiles for the monitoring routes, which Prometheus histograms can only estimate from buckets.
Both live in one record per label set (see ``_timings``): recording is a few slot updates under one
lock, and the Prometheus histograms are built from the records when scraped. Requests, the hot
path, are only queued (one append) and folded into their records in batches and before any read,
so every view and scrape still sees every request recorded before it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest

from ._apm_summary import summarise
from ._stats import Alert, AlertKind, Stats
from ._timings import Timing, TimingCollector, TimingFamily

UNMATCHED_ROUTE = "unmatched"

# Requests queued before they are folded into their records: bounds the queue's memory and how
# stale an unread record gets, while one fold's cost is shared by many requests.
FOLD_AT = 256


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
        self._wall_clock = wall_clock
        self._lock = threading.Lock()
        self._alerts: deque[Alert] = deque(maxlen=max_alerts)
        self._memory_high: set[str] = set()  # subjects in a high-memory episode
        # Stats keys: "METHOD /route" for requests, the operation for the database, and
        # (provider, operation) for external calls.
        self._requests: TimingFamily[str] = TimingFamily(
            "http_request_duration_seconds",
            "HTTP request duration by method, route template and status class (its _count is the"
            " request count).",
            ("method", "route", "status_class"),
            reservoir_size,
        )
        self._db: TimingFamily[str] = TimingFamily(
            "db_operation_duration_seconds",
            "Database operation duration by operation and outcome.",
            ("operation", "outcome"),
            reservoir_size,
        )
        self._externals: TimingFamily[tuple[str, str]] = TimingFamily(
            "external_call_duration_seconds",
            "Outbound provider call duration by provider, operation and outcome.",
            ("provider", "operation", "outcome"),
            reservoir_size,
        )
        # The record per argument tuple, so an observation costs one dict lookup. Cleared by
        # reset() together with the records they point to.
        self._request_cache: dict[tuple[str, str, int], Timing] = {}  # by status, not class
        self._db_cache: dict[tuple[str, bool], Timing] = {}
        self._external_cache: dict[tuple[str, str, bool], Timing] = {}
        self.prometheus = CollectorRegistry(auto_describe=True)
        # Appended without the lock (list.append is atomic); taken out only under it. ApmMiddleware
        # appends to it directly (the same tuples record_request appends), then calls
        # _fold_requests_due() when it holds FOLD_AT.
        self._pending: list[tuple[str, str, int, float]] = []
        self.prometheus.register(
            TimingCollector(
                (self._requests, self._db, self._externals), self._lock, self._fold_requests
            )
        )
        self._alert_count = Counter(
            "apm_alerts", "APM alerts raised, by kind.", ("kind",), registry=self.prometheus
        )
        self._memory_percent = Gauge(
            "system_memory_percent", "Last sampled system memory use (%).", registry=self.prometheus
        )
        self._process_memory_percent = Gauge(
            "process_memory_percent",
            "Last sampled memory of this process against its limit (cgroup, else system) (%).",
            registry=self.prometheus,
        )

    # -- recording ---------------------------------------------------------------------------

    def record_request(
        self, method: str, route_template: str, status: int, duration: float
    ) -> None:
        """One HTTP request; an error is a status >= 500."""
        # Queued, not recorded: an append is all a request pays; the queue is folded into the
        # records in one tight loop every FOLD_AT requests and before anything reads them.
        pending = self._pending
        pending.append((method, route_template, status, duration))
        if len(pending) >= FOLD_AT:
            self._fold_requests_due()
        if duration > self.slow_endpoint:
            self._alert("slow_endpoint", f"{method} {route_template}", duration, self.slow_endpoint)

    def record_db(self, operation: str, duration: float, *, error: bool = False) -> None:
        timing = self._db_cache.get((operation, error))
        if timing is None:
            with self._lock:
                timing = self._db.timing(
                    (operation, "error" if error else "ok"), operation, error=error
                )
                self._db_cache[(operation, error)] = timing
        with self._lock:
            timing.add(duration)
        if duration > self.slow_query:
            self._alert("slow_query", operation, duration, self.slow_query)

    def record_external(self, provider: str, operation: str, duration: float, *, ok: bool) -> None:
        timing = self._external_cache.get((provider, operation, ok))
        if timing is None:
            with self._lock:
                timing = self._externals.timing(
                    (provider, operation, "ok" if ok else "error"),
                    (provider, operation),
                    error=not ok,
                )
                self._external_cache[(provider, operation, ok)] = timing
        with self._lock:
            timing.add(duration)
        if duration > self.slow_external:
            self._alert("slow_external", f"{provider}.{operation}", duration, self.slow_external)

    def record_memory(
        self, percent: float, *, subject: Literal["system", "process"] = "system"
    ) -> None:
        """A memory sample (percent): of the system, or of this process against its limit
        (``subject="process"``). Alerts when it reaches ``high_memory_percent``, once per episode
        and subject: samples that stay high don't flood the bounded alert list; dropping below
        the threshold re-arms the alert."""
        gauge = self._process_memory_percent if subject == "process" else self._memory_percent
        gauge.set(percent)
        high = percent >= self.high_memory_percent
        with self._lock:
            new_episode = high and subject not in self._memory_high
            if high:
                self._memory_high.add(subject)
            else:
                self._memory_high.discard(subject)
        if new_episode:
            self._alert("high_memory", subject, percent, self.high_memory_percent)

    # -- views -------------------------------------------------------------------------------

    def endpoint(self, key: str) -> Stats:
        """Stats for ``"METHOD /route/{template}"`` (unmatched paths: ``"GET unmatched"``)."""
        with self._lock:
            self._fold_requests()
            return self._requests.stats([key])

    def endpoints(self) -> dict[str, Stats]:
        with self._lock:
            self._fold_requests()
            keys = sorted(self._requests.groups())
            return {key: self._requests.stats([key]) for key in keys}

    def db(self, operation: str | None = None) -> Stats:
        """All database operations, or one."""
        with self._lock:
            return self._db.stats(self._db.groups() if operation is None else [operation])

    def db_operations(self) -> dict[str, Stats]:
        with self._lock:
            keys = sorted(self._db.groups())
            return {op: self._db.stats([op]) for op in keys}

    def external(self, provider: str, operation: str | None = None) -> Stats:
        """One provider over all its operations, or one operation of it."""
        with self._lock:
            return self._externals.stats(
                (p, op)
                for p, op in self._externals.groups()
                if p == provider and operation in (None, op)
            )

    def externals(self) -> dict[str, Stats]:
        """Per provider, aggregated over operations."""
        with self._lock:
            providers = sorted({p for p, _ in self._externals.groups()})
        return {p: self.external(p) for p in providers}

    def external_operations(self) -> dict[str, Stats]:
        """Per ``"provider.operation"``."""
        with self._lock:
            keys = sorted(self._externals.groups())
            return {f"{p}.{op}": self._externals.stats([(p, op)]) for p, op in keys}

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
        """Everything, JSON-able (its layout: ``_apm_summary``)."""
        return summarise(self)

    def prometheus_text(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.prometheus)

    def reset(self) -> None:
        """Forget everything recorded (Prometheus counters restart at zero, as after a restart)."""
        with self._lock:
            self._pending.clear()
            self._request_cache.clear()
            self._db_cache.clear()
            self._external_cache.clear()
            self._requests.clear()
            self._db.clear()
            self._externals.clear()
            self._alerts.clear()
            self._memory_high.clear()
        self._alert_count.clear()
        self._memory_percent.set(0)
        self._process_memory_percent.set(0)

    # -- internals ---------------------------------------------------------------------------

    def _fold_requests(self) -> None:
        """Move queued requests into their records. The caller holds the lock."""
        pending = self._pending
        count = len(pending)
        if not count:
            return
        # Two single C calls, each atomic under the GIL: a request appended in between (appends
        # take no lock) lands after index ``count`` and stays queued for the next fold.
        batch = pending[:count]
        del pending[:count]
        cache = self._request_cache
        # Each record (and the ring of its endpoint, shared by its status classes) collects its
        # durations in arrival order; the family then brings each list in with one batch.
        for method, route_template, status, duration in batch:
            timing = cache.get((method, route_template, status))
            if timing is None:
                timing = cache[(method, route_template, status)] = self._requests.timing(
                    (method, route_template, f"{status // 100}xx"),
                    f"{method} {route_template}",
                    error=status >= 500,
                )
            timing.queued.append(duration)
            timing.ring.queued.append(duration)
        self._requests.flush()

    def _fold_requests_due(self) -> None:
        with self._lock:
            self._fold_requests()

    def _alert(self, kind: AlertKind, subject: str, value: float, threshold: float) -> None:
        at = self._wall_clock() if self._wall_clock is not None else time.time()
        with self._lock:
            self._alerts.append(Alert(kind, subject, value, at, threshold))
        self._alert_count.labels(kind).inc()
