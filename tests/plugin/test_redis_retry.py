"""redis-py retries a refused or dropped connection with back-off (its ``Retry``, on by
default since 6.0): under the clock the back-off passes in virtual time, each delay in
``retry_sleeps``; without one it is real, as in production. A Redis-down test waited seconds."""

from __future__ import annotations

import asyncio
import socket
import time

import pytest
import redis
import redis.asyncio
from redis.backoff import ConstantBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.retry import Retry

from pytest_hardening import Clock, FaultInjector
from pytest_hardening._clock_cache import ClockCache

from ._sleeps import no_real_sleep, this_thread_only  # noqa: F401 (a fixture)

HELD = (redis.retry.sleep, redis.asyncio.retry.sleep)  # the library's own, from its import


def _port_nobody_listens_on() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ping_sync(port: int) -> None:
    client = redis.Redis(port=port, retry=Retry(ConstantBackoff(5), 2))
    try:
        client.ping()
    finally:
        client.close()


def _ping_async(port: int) -> None:
    async def ping() -> None:
        client = redis.asyncio.Redis(
            port=port, retry=redis.asyncio.retry.Retry(ConstantBackoff(5), 2)
        )
        try:
            await client.ping()
        finally:
            await client.aclose()

    asyncio.run(ping())


@pytest.mark.usefixtures("no_real_sleep")
@pytest.mark.parametrize("ping", [_ping_sync, _ping_async], ids=["redis", "redis.asyncio"])
def test_the_back_off_of_a_refused_redis_moves_the_clock(
    ping: object, clock_cache: ClockCache
) -> None:
    port = _port_nobody_listens_on()
    with Clock(cache=clock_cache) as clock, FaultInjector({}, clock=clock) as faults:
        with pytest.raises(RedisConnectionError):
            ping(port)  # type: ignore[operator]
        assert faults.retry_sleeps == [5.0, 5.0]
        assert clock.advanced == 10.0
    assert (redis.retry.sleep, redis.asyncio.retry.sleep) == HELD  # nothing left patched


def test_without_a_clock_it_sleeps_as_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", this_thread_only(slept.append, time.sleep))
    with FaultInjector({}) as faults, pytest.raises(RedisConnectionError):
        _ping_sync(_port_nobody_listens_on())
    assert slept == [5.0, 5.0]
    assert faults.real_sleeps == [5.0, 5.0]  # counted: the faults fixture warns of them
