"""Thread safety: bounded probes and exact counts under a thread pool."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from reference_app.resilience import CircuitBreaker, CircuitOpenError, ManualClock, State

WORKERS = 16


def test_threads_against_half_open_admit_exactly_max_probes() -> None:
    clock = ManualClock()
    breaker = CircuitBreaker("t", half_open_max_calls=2, success_threshold=2, clock=clock)
    breaker.force_open()
    clock.advance(60)
    entered = threading.Semaphore(0)
    rejected = threading.Semaphore(0)
    release = threading.Event()
    start = threading.Barrier(WORKERS)

    def probe() -> str:
        entered.release()
        assert release.wait(timeout=10), "test bug: probes were never released"
        return "probe ok"

    def attempt(_: int) -> str:
        start.wait(timeout=10)
        try:
            return breaker.call(probe)
        except CircuitOpenError:
            rejected.release()
            return "rejected"

    with ThreadPoolExecutor(WORKERS) as pool:
        futures = [pool.submit(attempt, i) for i in range(WORKERS)]
        for _ in range(2):
            assert entered.acquire(timeout=10)
        # Every other thread is rejected while both probes are still running (not queued).
        for _ in range(WORKERS - 2):
            assert rejected.acquire(timeout=10), "a thread was neither admitted nor rejected"
        assert not entered.acquire(blocking=False), "a third probe got in"
        release.set()
        results = [f.result(timeout=10) for f in futures]
    assert results.count("probe ok") == 2
    assert results.count("rejected") == WORKERS - 2
    assert breaker.state is State.CLOSED


def test_counts_are_exact_under_concurrent_successes_and_failures() -> None:
    breaker = CircuitBreaker("t", failure_threshold=10**9)
    per_thread = 2_000

    def work(i: int) -> None:
        for n in range(per_thread):
            if (i + n) % 4 == 0:
                with pytest.raises(ValueError, match="x"):
                    breaker.call(_raise)
            else:
                breaker.call(int)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(work, range(4)))
    m = breaker.metrics()
    assert m.successes + m.failures == 4 * per_thread
    assert m.failures == 4 * per_thread // 4
    assert m.total_calls == 4 * per_thread


def _raise() -> None:
    raise ValueError("x")


def test_concurrent_failures_open_exactly_once() -> None:
    breaker = CircuitBreaker("t", failure_threshold=50, open_timeout=3600)
    start = threading.Barrier(8)

    def hammer(_: int) -> int:
        start.wait(timeout=10)
        rejected = 0
        for _ in range(100):
            try:
                breaker.call(_raise)
            except ValueError:
                pass
            except CircuitOpenError:
                rejected += 1
        return rejected

    with ThreadPoolExecutor(8) as pool:
        rejections = sum(pool.map(hammer, range(8)))
    assert breaker.state is State.OPEN
    assert [(t.from_state, t.to_state) for t in breaker.transitions] == [(State.CLOSED, State.OPEN)]
    m = breaker.metrics()
    assert m.rejections == rejections
    assert m.failures + m.rejections == 800
