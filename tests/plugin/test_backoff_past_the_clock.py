"""Where a virtual back-off stops: with no running clock to move (a thread still retrying when
the test ended, an app kept running for the next test) it sleeps for real, as in production,
and never raises in a thread that has nowhere to raise; in a background thread (a library's
poller) it sleeps for real even in a named module, instead of spinning the clock away."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import anyio
import anyio.to_thread
import httpx
import openai
import pytest
import tenacity

from pytest_hardening import Clock, FaultInjector, Provider
from pytest_hardening._clock_cache import ClockCache
from pytest_hardening.fakes import openai_provider

from . import _own_backoff, _pollers
from ._sleeps import this_thread_only, this_thread_only_async

PROVIDERS = {
    "orders": Provider("https://api.example.com", httpx.Response(200, json={"orders": []})),
    "openai": openai_provider("Hello"),
}


@tenacity.retry(wait=tenacity.wait_fixed(4), stop=tenacity.stop_after_attempt(3))
def tenacity_fetch() -> httpx.Response:
    return httpx.get(_own_backoff.URL).raise_for_status()


def _openai_chat() -> Any:
    client = openai.OpenAI(api_key="sk-test", max_retries=1)
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The real sleeps of the test's thread (``time.sleep``, ``anyio.sleep``), not slept."""
    slept: list[float] = []

    async def async_sleep(seconds: float, *args: Any) -> None:
        if seconds > 0:
            slept.append(seconds)

    monkeypatch.setattr(time, "sleep", this_thread_only(slept.append, time.sleep))
    monkeypatch.setattr(anyio, "sleep", this_thread_only_async(async_sleep, anyio.sleep))
    return slept


@pytest.fixture
def stopped_clock(
    slept: list[float], clock_cache: ClockCache
) -> Iterator[tuple[Clock, FaultInjector]]:
    """An injector whose clock stopped under it: what a worker thread that read the clock just
    before the test's end meets when it backs off just after."""
    clock = Clock(cache=clock_cache).start()
    with FaultInjector(PROVIDERS, clock=clock) as faults:
        faults.virtual_backoff(_own_backoff)
        clock.stop()
        yield clock, faults


CASES: list[tuple[str, Callable[[FaultInjector], object], list[float]]] = [
    ("the app's own time.sleep", lambda f: _own_backoff.fetch_sync(), [1.0, 2.0]),
    (
        "the app's own asyncio.sleep",
        lambda f: asyncio.run(_own_backoff.fetch_async()),
        [5.0, 10.0],
    ),
    ("tenacity", lambda f: tenacity_fetch(), [4.0, 4.0]),
]


@pytest.mark.parametrize(("how", "fetch", "delays"), CASES, ids=[case[0] for case in CASES])
def test_a_back_off_after_the_clock_stopped_sleeps_for_real(
    stopped_clock: tuple[Clock, FaultInjector],
    slept: list[float],
    how: str,
    fetch: Callable[[FaultInjector], object],
    delays: list[float],
) -> None:
    clock, faults = stopped_clock
    faults.fail("orders", 503, times=2)
    assert fetch(faults) is not None  # no "Clock is not running" from the back-off
    assert slept == delays
    assert faults.retry_sleeps == []
    assert clock.advanced == 0


def test_an_sdk_retry_after_the_clock_stopped_sleeps_for_real(
    stopped_clock: tuple[Clock, FaultInjector], slept: list[float]
) -> None:
    _, faults = stopped_clock
    faults.rate_limit("openai", retry_after=3, times=1)
    assert _openai_chat().choices[0].message.content == "Hello"
    assert slept == [3.0]
    assert faults.retry_sleeps == []


def test_advancing_a_stopped_clock_still_fails_for_the_test(clock_cache: ClockCache) -> None:
    clock = Clock(cache=clock_cache).start()
    clock.stop()
    with pytest.raises(RuntimeError, match="Clock is not running"):
        clock.advance(1)


def test_a_background_thread_backs_off_in_real_time_even_in_a_named_module(
    clock_cache: ClockCache,
) -> None:
    with Clock(cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock) as faults:
        faults.virtual_backoff(_pollers)
        # A library's poller sleeping its interval in a loop: virtual, it would poll without
        # end and move the clock by the interval each time, opening and closing breakers.
        _pollers.start_poller(0.005, polls=3).join()  # 15 ms for real
        assert clock.advanced == 0
        _pollers.back_off(1)  # the test's own thread
        with ThreadPoolExecutor(1) as pool:  # an executor the app awaits
            pool.submit(_pollers.back_off, 2).result()
        anyio.run(anyio.to_thread.run_sync, _pollers.back_off, 4)  # a sync endpoint's worker
        assert faults.retry_sleeps == [1.0, 2.0, 4.0]
        assert clock.advanced == 7
