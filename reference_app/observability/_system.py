"""SystemMonitor: process and host metrics from psutil, sampled on demand and periodically."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import psutil

from ._apm import ApmRegistry
from ._memory_limit import MemoryLimit, memory_limit

logger = logging.getLogger("reference_app.observability")


class SystemMonitor:
    """Samples RSS, memory, CPU (percent, and user/system seconds), load average and uptime.

    Memory is judged twice, each against 90 % (the ApmRegistry's ``high_memory_percent``):
    ``memory_percent`` is the machine's memory in use (a ``high_memory`` alert with subject
    ``system``), ``process_memory_percent`` is this process's RSS against its own limit,
    ``memory_limit_bytes`` from ``memory_limit_source``: its cgroup (v2, else v1) when it has a
    limit, else the machine's memory (subject ``process``). CPU user/system seconds are the
    process's cumulative CPU time in each mode.

    ``sample()`` is cheap (psutil reads /proc; ``cpu_percent(interval=None)`` never sleeps) so it
    runs on the event loop. CPU percent is measured since the previous call, so the constructor
    primes it once and the first real reading is meaningful. The periodic task (``start()``/
    ``stop()``, or ``async with``) samples every ``interval`` seconds and feeds the memory percent
    to the ApmRegistry, which raises a ``high_memory`` alert at >= 90 %.

    Seams: ``memory_percent`` (a zero-argument callable returning percent) replaces the psutil
    reading, ``memory_limit`` (returning a ``MemoryLimit``) the cgroup lookup, ``started_at``
    (epoch seconds, default: now) and ``wall_clock`` drive the uptime.
    """

    def __init__(
        self,
        apm: ApmRegistry | None = None,
        *,
        interval: float = 60.0,
        started_at: float | None = None,
        wall_clock: Callable[[], float] | None = None,
        memory_percent: Callable[[], float] | None = None,
        process: psutil.Process | None = None,
        memory_limit: Callable[[], MemoryLimit] | None = None,
    ) -> None:
        self._apm = apm
        self.interval = interval
        self._wall_clock = wall_clock
        self.started_at = self._now() if started_at is None else started_at
        self._memory_percent = memory_percent
        self._memory_limit = memory_limit
        self._process = process if process is not None else psutil.Process()
        self._process.cpu_percent(interval=None)  # prime: the first call always returns 0.0
        self._task: asyncio.Task[None] | None = None
        self.last_sample: dict[str, Any] | None = None

    def _now(self) -> float:
        return self._wall_clock() if self._wall_clock is not None else time.time()

    def sample(self) -> dict[str, Any]:
        """One reading; also recorded in the ApmRegistry (memory gauges + alerts)."""
        with self._process.oneshot():
            rss = self._process.memory_info().rss
            cpu = self._process.cpu_percent(interval=None)
            cpu_times = self._process.cpu_times()
        limit = self._memory_limit() if self._memory_limit is not None else memory_limit()
        process_memory = 100.0 * rss / limit.bytes
        memory = (
            self._memory_percent()
            if self._memory_percent is not None
            else psutil.virtual_memory().percent
        )
        load: list[float] | None = None
        if hasattr(os, "getloadavg"):
            with contextlib.suppress(OSError):
                load = list(os.getloadavg())
        snapshot: dict[str, Any] = {
            "rss_bytes": rss,
            "memory_percent": memory,
            "process_memory_percent": process_memory,
            "memory_limit_bytes": limit.bytes,
            "memory_limit_source": limit.source,
            "cpu_percent": cpu,
            "cpu_user_seconds": cpu_times.user,
            "cpu_system_seconds": cpu_times.system,
            "load_average": load,
            "cpu_count": psutil.cpu_count() or 1,
            "uptime_seconds": max(0.0, self._now() - self.started_at),
            "sampled_at": self._now(),
        }
        if self._apm is not None:
            self._apm.record_memory(memory)
            self._apm.record_memory(process_memory, subject="process")
        self.last_sample = snapshot
        return snapshot

    async def sample_async(self) -> dict[str, Any]:
        """``sample()`` for async callers (it is fast enough not to need a worker thread)."""
        return self.sample()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    async def start(self) -> None:
        """Start the periodic sampler (idempotent). Must be called on the running event loop."""
        if not self.running:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="reference_app.system_monitor"
            )

    async def stop(self) -> None:
        """Stop the periodic sampler and wait for it (idempotent)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def __aenter__(self) -> SystemMonitor:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _run(self) -> None:
        while True:
            try:
                self.sample()
            except Exception:  # a failed reading must not end monitoring
                logger.exception("system metrics sample failed")
            await asyncio.sleep(self.interval)
