"""Per-label-set duration records behind the APM histograms, exported to Prometheus on scrape.

``prometheus_client.Histogram.observe`` costs a Python loop over the bucket bounds and a lock per
touched value on every observation; in a request that was most of the APM middleware's cost. Here
an observation is a bisect, a few slot updates and one ring write (the caller holds one lock), and
the cumulative buckets are only built when Prometheus scrapes, by :class:`TimingCollector`, with
the same names, labels, ``le`` values and ``_created`` series as a plain ``Histogram``.
"""

from __future__ import annotations

import math
import threading
import time
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from functools import reduce
from operator import add
from typing import Any, Generic, TypeVar

import prometheus_client.metrics
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from ._stats import Stats, percentile

# Upper bounds of the histogram buckets; +Inf last, as prometheus_client appends it.
BUCKETS: tuple[float, ...] = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    math.inf,
)
_LE: tuple[str, ...] = tuple(floatToGoString(b) for b in BUCKETS)  # type: ignore[no-untyped-call]

K = TypeVar("K", bound=Hashable)


class Ring:
    """The last ``size`` durations of one stats key: a preallocated list and a write counter.
    ``queued`` collects a fold's durations in arrival order until :meth:`flush` writes them."""

    __slots__ = ("queued", "size", "values", "written")

    def __init__(self, size: int) -> None:
        self.size = size
        self.values = [0.0] * size
        self.written = 0
        self.queued: list[float] = []

    def recent(self) -> list[float]:
        return self.values[: min(self.written, self.size)]

    def extend(self, durations: list[float]) -> None:
        """Write ``durations`` in order, as one :meth:`Timing.add` each would: at most two slice
        assignments (the write position wraps around once at most)."""
        size, values, count = self.size, self.values, len(durations)
        if count > size:  # the first ones are overwritten within this batch anyway
            durations = durations[count - size :]
        offset = (self.written + count - len(durations)) % size
        head = min(len(durations), size - offset)
        values[offset : offset + head] = durations[:head]
        values[: len(durations) - head] = durations[head:]
        self.written += count

    def flush(self) -> None:
        if self.queued:
            self.extend(self.queued)
            self.queued = []


class Timing:
    """One label set: bucket counts (their sum is the count), total, min, max, and the ring of
    its stats key (shared by the label sets that differ only by status class or outcome).
    Not locked: the owner serialises :meth:`add`."""

    __slots__ = ("buckets", "created", "error", "maximum", "minimum", "queued", "ring", "total")

    def __init__(self, ring: Ring, *, error: bool) -> None:
        self.buckets = [0] * len(BUCKETS)
        self.total = 0.0
        self.minimum = math.inf
        self.maximum = 0.0
        self.ring = ring
        self.error = error
        self.created = time.time()  # as prometheus_client stamps a labelled child
        self.queued: list[float] = []  # a fold's durations, until flush()

    def add(self, duration: float) -> None:
        # bisect_left finds the first bound >= duration: Histogram.observe's `amount <= bound`.
        self.buckets[bisect_left(BUCKETS, duration)] += 1
        self.total += duration
        if duration < self.minimum:
            self.minimum = duration
        if duration > self.maximum:
            self.maximum = duration
        ring = self.ring
        ring.values[ring.written % ring.size] = duration
        ring.written += 1

    def add_many(self, durations: list[float]) -> None:
        """:meth:`add` for each of ``durations`` in order (the total is summed in the same
        order), except the ring, which the caller fills (:meth:`Ring.extend`): the buckets come
        from one sort and a bisect per bound instead of a bisect per duration."""
        ordered = sorted(durations)
        below = 0
        buckets = self.buckets
        for index, bound in enumerate(BUCKETS):  # a bucket holds bound[i-1] < d <= bound[i]
            upto = bisect_right(ordered, bound)
            buckets[index] += upto - below
            below = upto
        # Left to right, one addition at a time, as Histogram.observe sums (builtin sum() may
        # compensate rounding errors, so its result can differ in the last bits).
        self.total = reduce(add, durations, self.total)
        if ordered[0] < self.minimum:
            self.minimum = ordered[0]
        if ordered[-1] > self.maximum:
            self.maximum = ordered[-1]

    def flush(self) -> None:
        if self.queued:
            self.add_many(self.queued)
            self.queued = []


class TimingFamily(Generic[K]):
    """One histogram family: label values → :class:`Timing`, grouped into stats keys.

    Not locked: the owner holds its lock around every method (the collector takes the same lock).
    """

    def __init__(
        self, name: str, documentation: str, labelnames: Sequence[str], reservoir_size: int
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self._reservoir_size = reservoir_size
        self._timings: dict[tuple[str, ...], Timing] = {}
        self._groups: dict[K, tuple[Ring, list[Timing]]] = {}

    def timing(self, labels: tuple[str, ...], group: K, *, error: bool) -> Timing:
        """The record for ``labels`` (created on first use), in stats key ``group``."""
        timing = self._timings.get(labels)
        if timing is None:
            entry = self._groups.get(group)
            if entry is None:
                entry = self._groups[group] = (Ring(self._reservoir_size), [])
            timing = self._timings[labels] = Timing(entry[0], error=error)
            entry[1].append(timing)
        return timing

    def groups(self) -> list[K]:
        return list(self._groups)

    def flush(self) -> None:
        """Bring every record's and ring's ``queued`` durations in (see :meth:`Timing.flush`)."""
        for timing in self._timings.values():
            timing.flush()
        for ring, _ in self._groups.values():
            ring.flush()

    def stats(self, groups: Iterable[K]) -> Stats:
        """One Stats over the given stats keys (unknown keys contribute nothing)."""
        count = errors = 0
        total = 0.0
        low, high = math.inf, 0.0
        recent: list[float] = []
        for group in groups:
            entry = self._groups.get(group)
            if entry is None:
                continue
            ring, timings = entry
            for timing in timings:
                n = sum(timing.buckets)
                count += n
                errors += n if timing.error else 0
                total += timing.total
                low, high = min(low, timing.minimum), max(high, timing.maximum)
            recent.extend(ring.recent())
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

    def clear(self) -> None:
        self._timings.clear()
        self._groups.clear()

    def empty_metric(self) -> Metric:
        return Metric(self.name, self.documentation, "histogram")

    def metric(self) -> Metric:
        """The family as ``Histogram`` would expose it: per label set, cumulative ``_bucket``
        samples, ``_count``, ``_sum`` and (unless disabled in prometheus_client) ``_created``."""
        metric = self.empty_metric()
        # Read at scrape time, like Histogram does, so disable_created_metrics() and
        # PROMETHEUS_DISABLE_CREATED_SERIES apply here too.
        use_created = getattr(prometheus_client.metrics, "_use_created", True)
        for labels, timing in self._timings.items():
            names = dict(zip(self.labelnames, labels, strict=True))
            acc = 0.0
            for le, n in zip(_LE, timing.buckets, strict=True):
                acc += n
                metric.add_sample(f"{self.name}_bucket", {**names, "le": le}, acc)
            metric.add_sample(f"{self.name}_count", names, acc)
            metric.add_sample(f"{self.name}_sum", names, timing.total)
            if use_created:
                metric.add_sample(f"{self.name}_created", names, timing.created)
        return metric


class TimingCollector(Collector):
    """Exposes :class:`TimingFamily` instances to a ``CollectorRegistry``, built under ``lock``
    (the lock their owner records under) so a scrape sees whole observations, after ``flush``
    (called under the lock) has brought queued observations in."""

    def __init__(
        self,
        families: Sequence[TimingFamily[Any]],
        lock: threading.Lock,
        flush: Callable[[], None] = lambda: None,
    ) -> None:
        self._families = tuple(families)
        self._lock = lock
        self._flush = flush

    def describe(self) -> Iterator[Metric]:
        # Lets the registry reject a clashing metric name at registration, as for Histogram.
        return iter([family.empty_metric() for family in self._families])

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            self._flush()
            metrics = [family.metric() for family in self._families]
        return iter(metrics)
