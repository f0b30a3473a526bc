"""Bounded load: N requests at a fixed concurrency, stopped by count or by a deadline."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx

__all__ = ["LoadReport", "Sample", "percentile", "run_load"]


@dataclass(frozen=True, slots=True)
class Sample:
    """One request: when it started (``started``: ``time.perf_counter()``; ``wall``:
    ``time.time()``, comparable with times another process reports, such as a breaker's
    transition ``wall_time``), how long it took, and either the response or the transport
    error's class name (``error``) and message (``detail``)."""

    index: int
    started: float
    elapsed: float
    response: httpx.Response | None
    error: str | None = None
    wall: float = 0.0
    detail: str | None = None

    @property
    def status(self) -> int | None:
        return None if self.response is None else self.response.status_code


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass
class LoadReport:
    samples: list[Sample] = field(default_factory=list)
    wall: float = 0.0
    #: True when the deadline, not the request count, ended the run.
    timed_out: bool = False

    @property
    def statuses(self) -> Counter[int | str]:
        return Counter(s.status if s.status is not None else str(s.error) for s in self.samples)

    def latencies(self, *, since: float | None = None) -> list[float]:
        """Latencies in seconds, of requests started at or after ``since`` when given."""
        return [s.elapsed for s in self.samples if since is None or s.started >= since]

    def started_between(self, start: float, end: float = math.inf) -> list[Sample]:
        """Requests whose ``wall`` start time is in ``[start, end)`` (``time.time()``)."""
        return [s for s in self.samples if start <= s.wall < end]

    def p(self, q: float, *, since: float | None = None) -> float:
        return percentile(self.latencies(since=since), q)

    def describe(self, *, since: float | None = None) -> str:
        """One line: count, wall time, statuses, p50/p99/max (of requests started at or after
        ``since`` when given)."""
        lat = self.latencies(since=since)
        if since is None:
            head = (
                f"{len(self.samples)} requests in {self.wall:.2f}s"
                f"{' (stopped by the deadline)' if self.timed_out else ''}; "
                f"statuses {dict(sorted(self.statuses.items(), key=str))}"
            )
        else:
            head = f"{len(lat)} requests started since"
        return (
            f"{head}; latency p50 {percentile(lat, 50) * 1000:.1f} ms, "
            f"p99 {percentile(lat, 99) * 1000:.1f} ms, max {max(lat, default=0) * 1000:.1f} ms"
        )


async def run_load(
    send: Callable[[int], Awaitable[httpx.Response]],
    *,
    total: int,
    concurrency: int,
    max_seconds: float,
    stop: Callable[[], bool] | None = None,
) -> LoadReport:
    """Call ``send(i)`` for i in 0..total-1 from ``concurrency`` workers; no new request
    starts after ``max_seconds``, nor once ``stop()`` returns True (e.g. when what the load
    is meant to show has been observed).

    Transport errors are recorded, not raised, and nothing is retried: each one counts. So that
    each one is the server's doing, ``send`` should use a client whose keep-alive expiry is well
    below the server's keep-alive timeout (uvicorn's default: 5 s; httpx's expiry: also 5 s),
    e.g. ``httpx.Limits(keepalive_expiry=1.0)``: otherwise a request sent on a connection the
    server is closing as idle fails with "Server disconnected without sending a response"
    although the server never read it."""
    if total < 0 or concurrency < 1 or max_seconds <= 0:
        raise ValueError("need total >= 0, concurrency >= 1 and max_seconds > 0")
    report = LoadReport()
    start = time.perf_counter()
    deadline = start + max_seconds
    counter = iter(range(total))

    async def worker() -> None:
        for index in counter:
            began = time.perf_counter()
            if began > deadline:
                report.timed_out = True
                return
            if stop is not None and stop():
                return
            wall = time.time()
            error: str | None = None
            detail: str | None = None
            try:
                response: httpx.Response | None = await send(index)
            except httpx.TransportError as exc:
                response, error, detail = None, type(exc).__name__, str(exc) or repr(exc)
            elapsed = time.perf_counter() - began
            report.samples.append(Sample(index, began, elapsed, response, error, wall, detail))

    tasks = [asyncio.ensure_future(worker()) for _ in range(concurrency)]
    try:
        await asyncio.gather(*tasks)
    finally:
        # One worker raised (``send`` failed with something other than a transport error), or
        # the caller was cancelled: the others stop too, and are waited for, so that no
        # request of this load goes on after it (into the next test).
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    report.wall = time.perf_counter() - start
    return report
