"""Async forms, cancellation, probe timeouts and 1,000 concurrent tasks against HALF_OPEN."""

from __future__ import annotations

import asyncio

import pytest

from reference_app.resilience import CircuitBreaker, CircuitOpenError, ManualClock, State

pytestmark = pytest.mark.anyio


class Boom(RuntimeError):
    pass


async def ok(value: str = "ok") -> str:
    await asyncio.sleep(0)
    return value


async def fail() -> None:
    await asyncio.sleep(0)
    raise Boom


def half_open(breaker: CircuitBreaker, clock: ManualClock) -> None:
    breaker.force_open()
    clock.advance(breaker.open_timeout)
    assert breaker.state is State.HALF_OPEN


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


async def test_acall_full_cycle(clock: ManualClock) -> None:
    breaker = CircuitBreaker("a", failure_threshold=2, success_threshold=1, clock=clock)
    for _ in range(2):
        with pytest.raises(Boom):
            await breaker.acall(fail)
    with pytest.raises(CircuitOpenError):
        await breaker.acall(ok)
    clock.advance(60)
    assert await breaker.acall(ok, "back") == "back"
    assert breaker.state is State.CLOSED


async def test_async_fallback_may_be_sync_or_async(clock: ManualClock) -> None:
    breaker = CircuitBreaker("a", clock=clock)
    breaker.force_open()

    async def async_fallback(error: CircuitOpenError) -> str:
        return f"async {error.name}"

    assert await breaker.acall(ok, fallback=lambda e: "sync") == "sync"
    assert await breaker.acall(ok, fallback=async_fallback) == "async a"


async def test_decorated_coroutine_function(clock: ManualClock) -> None:
    breaker = CircuitBreaker("a", failure_threshold=1, clock=clock)

    @breaker
    async def fetch(order_id: str, *, verbose: bool = False) -> str:
        """Fetch an order."""
        if order_id == "bad":
            raise Boom
        return f"{order_id}:{verbose}"

    assert asyncio.iscoroutinefunction(fetch)
    assert fetch.__name__ == "fetch"
    assert fetch.__doc__ == "Fetch an order."
    assert await fetch("o1", verbose=True) == "o1:True"
    with pytest.raises(Boom):
        await fetch("bad")
    with pytest.raises(CircuitOpenError):
        await fetch("o2")


async def test_wrap_with_fallback_on_async_function(clock: ManualClock) -> None:
    breaker = CircuitBreaker("a", clock=clock)
    guarded = breaker.wrap(ok, fallback=lambda e: "template script")
    breaker.force_open()
    assert await guarded("real") == "template script"


async def test_thousand_concurrent_calls_admit_exactly_max_probes(clock: ManualClock) -> None:
    breaker = CircuitBreaker("a", half_open_max_calls=3, success_threshold=3, clock=clock)
    half_open(breaker, clock)
    release = asyncio.Event()
    entered = 0

    async def probe() -> str:
        nonlocal entered
        entered += 1
        await release.wait()
        return "probe ok"

    async def attempt() -> str:
        try:
            return await breaker.acall(probe)
        except CircuitOpenError:
            return "rejected"

    tasks = [asyncio.create_task(attempt()) for _ in range(1000)]
    await asyncio.sleep(0)  # every task runs to its admission decision
    await asyncio.sleep(0)
    assert entered == 3
    release.set()
    results = await asyncio.gather(*tasks)
    assert results.count("probe ok") == 3
    assert results.count("rejected") == 997
    assert breaker.state is State.CLOSED
    assert breaker.metrics().rejections == 997


async def test_cancelled_probe_releases_its_permit_and_is_not_a_success(
    clock: ManualClock,
) -> None:
    breaker = CircuitBreaker("a", half_open_max_calls=1, success_threshold=1, clock=clock)
    half_open(breaker, clock)
    started = asyncio.Event()

    async def hang() -> None:
        started.set()
        await asyncio.Event().wait()

    task = asyncio.create_task(breaker.acall(hang))
    await started.wait()
    with pytest.raises(CircuitOpenError):  # the permit is held
        await breaker.acall(ok)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.state is State.HALF_OPEN, "cancellation must not count as a success"
    assert breaker.metrics().probes_in_flight == 0
    assert await breaker.acall(ok) == "ok"  # the permit is free again
    assert breaker.state is State.CLOSED


async def test_cancellation_in_closed_does_not_reset_failure_count(clock: ManualClock) -> None:
    breaker = CircuitBreaker("a", failure_threshold=3, clock=clock)
    for _ in range(2):
        with pytest.raises(Boom):
            await breaker.acall(fail)
    task = asyncio.create_task(breaker.acall(asyncio.sleep, 3600))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    m = breaker.metrics()
    assert (m.consecutive_failures, m.successes, m.ignored) == (2, 0, 1)
    with pytest.raises(Boom):
        await breaker.acall(fail)
    assert breaker.state is State.OPEN


async def test_cancellation_never_counts_even_if_failure_on_is_base_exception(
    clock: ManualClock,
) -> None:
    breaker = CircuitBreaker("a", failure_threshold=1, failure_on=(BaseException,), clock=clock)
    task = asyncio.create_task(breaker.acall(asyncio.sleep, 3600))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.state is State.CLOSED


async def test_hung_probe_loses_its_permit_after_probe_timeout(clock: ManualClock) -> None:
    breaker = CircuitBreaker(
        "a", half_open_max_calls=1, success_threshold=1, probe_timeout=5, clock=clock
    )
    half_open(breaker, clock)
    release = asyncio.Event()

    async def hang() -> str:
        await release.wait()
        return "late"

    hung = asyncio.create_task(breaker.acall(hang))
    await asyncio.sleep(0)
    clock.advance(4.9)
    with pytest.raises(CircuitOpenError) as info:
        await breaker.acall(ok)
    assert info.value.retry_after == pytest.approx(0.1)
    clock.advance(0.1)
    assert await breaker.acall(ok) == "ok", "the expired permit must be reusable"
    assert breaker.state is State.CLOSED
    release.set()
    assert await hung == "late"  # the late result reaches its caller ...
    assert len(breaker.transitions) == 3  # ... but moves nothing


async def test_late_failure_of_expired_probe_does_not_reopen(clock: ManualClock) -> None:
    breaker = CircuitBreaker(
        "a", half_open_max_calls=1, success_threshold=2, probe_timeout=5, clock=clock
    )
    half_open(breaker, clock)
    release = asyncio.Event()

    async def hang_then_fail() -> None:
        await release.wait()
        raise Boom

    hung = asyncio.create_task(breaker.acall(hang_then_fail))
    await asyncio.sleep(0)
    clock.advance(5)
    assert await breaker.acall(ok) == "ok"  # new probe on the reclaimed permit
    release.set()
    with pytest.raises(Boom):
        await hung
    assert breaker.state is State.HALF_OPEN
    assert breaker.metrics().failures == 1  # counted, but stale
