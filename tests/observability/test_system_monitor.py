from __future__ import annotations

import asyncio

import psutil
import pytest

from reference_app.observability import ApmRegistry, MemoryLimit, SystemMonitor

pytestmark = pytest.mark.anyio


def test_sample_shape_and_uptime_from_injected_start() -> None:
    now = [1_000.0]
    monitor = SystemMonitor(started_at=900.0, wall_clock=lambda: now[0])

    sample = monitor.sample()

    assert set(sample) >= {
        "rss_bytes",
        "memory_percent",
        "cpu_percent",
        "load_average",
        "uptime_seconds",
    }
    assert sample["rss_bytes"] > 0
    assert 0.0 <= sample["memory_percent"] <= 100.0
    assert sample["cpu_percent"] >= 0.0
    assert sample["uptime_seconds"] == pytest.approx(100.0)
    if sample["load_average"] is not None:
        assert len(sample["load_average"]) == 3
    now[0] = 1_060.0
    assert monitor.sample()["uptime_seconds"] == pytest.approx(160.0)
    assert monitor.last_sample is not None


def test_memory_at_ninety_percent_raises_a_high_memory_alert() -> None:
    apm = ApmRegistry()
    readings = iter([89.9, 90.0, 97.5])
    monitor = SystemMonitor(apm, memory_percent=lambda: next(readings))

    monitor.sample()
    assert apm.alerts == []
    monitor.sample()
    monitor.sample()

    assert [(a.kind, a.subject, a.duration) for a in apm.alerts] == [
        ("high_memory", "system", 90.0)
    ]
    assert b"system_memory_percent 97.5" in apm.prometheus_text()


async def test_periodic_sampler_starts_samples_and_stops() -> None:
    apm = ApmRegistry()
    sampled = asyncio.Event()

    def reading() -> float:
        sampled.set()
        return 95.0

    monitor = SystemMonitor(apm, interval=3600.0, memory_percent=reading)
    async with monitor:
        assert monitor.running
        await asyncio.wait_for(sampled.wait(), timeout=5)  # first sample is immediate
        await monitor.start()  # idempotent: still one task
    assert not monitor.running
    await monitor.stop()  # idempotent
    assert [a.kind for a in apm.alerts] == ["high_memory"]


async def test_sampler_survives_a_failing_reading(caplog: pytest.LogCaptureFixture) -> None:
    calls = 0
    done = asyncio.Event()

    def flaky() -> float:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise OSError("procfs unavailable")
        done.set()
        return 10.0

    monitor = SystemMonitor(interval=0.0, memory_percent=flaky)
    await monitor.start()
    try:
        await asyncio.wait_for(done.wait(), timeout=5)
    finally:
        await monitor.stop()
    assert calls >= 2
    assert "system metrics sample failed" in caplog.text


async def test_sample_async_matches_sample_shape() -> None:
    monitor = SystemMonitor(memory_percent=lambda: 42.0)
    sample = await monitor.sample_async()
    assert sample["memory_percent"] == 42.0


def test_cpu_is_split_into_user_and_system_seconds() -> None:
    sample = SystemMonitor().sample()
    times = psutil.Process().cpu_times()
    assert 0.0 < sample["cpu_user_seconds"] <= times.user
    assert 0.0 <= sample["cpu_system_seconds"] <= times.system


def test_process_memory_against_its_limit_alerts_at_ninety_percent() -> None:
    apm = ApmRegistry()
    rss = psutil.Process().memory_info().rss
    limits = iter([MemoryLimit(rss * 2, "cgroup v2"), MemoryLimit(int(rss / 0.95), "cgroup v2")])
    # The machine itself has memory to spare: only the process's own limit is near.
    monitor = SystemMonitor(apm, memory_percent=lambda: 40.0, memory_limit=lambda: next(limits))

    first = monitor.sample()
    assert first["process_memory_percent"] == pytest.approx(50.0, abs=5.0)
    assert (first["memory_limit_bytes"], first["memory_limit_source"]) == (rss * 2, "cgroup v2")
    assert apm.alerts == []
    second = monitor.sample()

    assert second["process_memory_percent"] >= 90.0
    assert [(a.kind, a.subject) for a in apm.alerts] == [("high_memory", "process")]
    assert b"process_memory_percent 9" in apm.prometheus_text()
    assert b"system_memory_percent 40.0" in apm.prometheus_text()
