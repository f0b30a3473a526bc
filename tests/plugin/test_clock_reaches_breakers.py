"""The clock moves breakers that stored the real ``time.monotonic`` before it started, and fails
loudly, naming the holder, where it cannot."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gc
import sched
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, NamedTuple

import pytest

from pytest_hardening import BreakerInspector, Clock


class HandWrittenBreaker:
    """The pattern from real gateways: the clock is captured when the app is built."""

    def __init__(self, open_timeout: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.open_timeout = open_timeout
        self.opened_at: float | None = None

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "CLOSED"
        return "HALF_OPEN" if self._clock() - self.opened_at >= self.open_timeout else "OPEN"

    def force_open(self) -> None:
        self.opened_at = self._clock()

    def reset(self) -> None:
        self.opened_at = None

    def call(self, fn: Callable[[], Any]) -> Any:
        if self.state == "OPEN":
            raise RuntimeError("open")
        try:
            result = fn()
        except ConnectionError:
            self.force_open()
            raise
        self.reset()
        return result


class AsyncHandWrittenBreaker:
    """An async breaker with the same habit, used from a running event loop."""

    def __init__(self, open_timeout: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.open_timeout = open_timeout
        self._opened_at: float | None = None

    def is_open(self) -> bool:
        opened = self._opened_at
        return opened is not None and self._clock() - opened < self.open_timeout

    async def call(self, fn: Callable[[], Awaitable[Any]]) -> Any:
        if self.is_open():
            raise RuntimeError("open")
        try:
            return await fn()
        except ConnectionError:
            self._opened_at = self._clock()
            raise


def _down() -> None:
    raise ConnectionError("down")


def test_an_unregistered_sync_breaker_built_before_the_clock_moves_with_it() -> None:
    breaker = HandWrittenBreaker()  # clock=time.monotonic: the real function, stored
    with Clock() as clock:
        with pytest.raises(ConnectionError):
            breaker.call(_down)
        clock.advance(59)
        assert breaker.state == "OPEN"  # the timeline continues: no jump when time first moved
        clock.advance(1)
        assert breaker.state == "HALF_OPEN"
        assert breaker.call(lambda: "ok") == "ok"
        assert "HandWrittenBreaker instance: _clock" in "\n".join(clock.repointed())
    assert breaker._clock is time.monotonic  # restored when the clock stops


def test_an_async_breaker_built_before_the_clock_moves_with_it() -> None:
    breaker = AsyncHandWrittenBreaker(open_timeout=30)

    async def down() -> None:
        raise ConnectionError("down")

    async def ok() -> str:
        return "ok"

    async def scenario(clock: Clock) -> str:
        with pytest.raises(ConnectionError):
            await breaker.call(down)
        with pytest.raises(RuntimeError, match="open"):
            await breaker.call(ok)
        clock.advance(3600)
        return str(await breaker.call(ok))

    with Clock() as clock:
        assert asyncio.run(scenario(clock)) == "ok"


def test_a_registered_breaker_is_read_on_the_moved_clock() -> None:
    breaker = HandWrittenBreaker(open_timeout=10)
    with Clock() as clock:
        inspector = BreakerInspector({"geo": breaker}).start()
        inspector.force_open("geo")
        clock.advance(10)
        assert inspector.state("geo") == "HALF_OPEN"
        assert inspector.transitions("geo") == [("CLOSED", "OPEN"), ("OPEN", "HALF_OPEN")]
        inspector.stop()


def test_breakers_built_while_frozen_get_the_moved_clock_from_the_defaults() -> None:
    with Clock() as clock:
        clock.advance(1)  # the clock has looked for holders: the default argument is re-pointed
        late = HandWrittenBreaker(open_timeout=5)
        late.force_open()
        clock.advance(5)
        assert late.state == "HALF_OPEN"
    assert HandWrittenBreaker.__init__.__defaults__ == (60.0, time.monotonic)


@dataclasses.dataclass(frozen=True, slots=True)
class FrozenSlots:
    clock: Callable[[], float] = time.monotonic


def _closure_clock() -> Callable[[], float]:
    clock = time.monotonic
    return lambda: clock()


def test_every_patchable_kind_of_holder_moves() -> None:
    frozen = FrozenSlots()
    closure = _closure_clock()
    part = functools.partial(time.monotonic)
    with Clock() as clock:
        before = [frozen.clock(), closure(), part()]
        clock.advance(100)
        after = [frozen.clock(), closure(), part()]
        # Real time until the first advance, then its value at that call + 100 s, however
        # long finding the holders took: 100 s apart, plus the moment before the call.
        moved = [b - a for a, b in zip(before, after, strict=True)]
        assert all(100.0 <= m < 105.0 for m in moved), moved
    assert frozen.clock is time.monotonic
    assert part.func is time.monotonic


def test_the_standard_library_and_private_defaults_keep_real_time() -> None:
    real = time.monotonic
    scheduler = sched.scheduler(real)  # stdlib: left alone

    def wait(_timer: Callable[[], float] = time.monotonic) -> Callable[[], float]:
        return _timer  # the local-binding idiom of wait loops: left alone

    with Clock() as clock:
        clock.advance(1)
        assert scheduler.timefunc is real
        assert wait() is real
        assert clock.problems() == []


class Settings(NamedTuple):
    timeout: float
    clock: Callable[[], float]


def test_a_holder_that_cannot_be_repointed_fails_loudly_naming_it() -> None:
    settings = Settings(30.0, time.monotonic)  # a tuple: nothing can be swapped inside it
    with Clock() as clock:
        with pytest.raises(RuntimeError) as info:
            clock.advance(60)
        message = str(info.value)
        assert "Settings object" in message
        assert "time.monotonic" in message
        assert "lambda: time.monotonic()" in message  # what to do
        assert clock.problems() == [message.split("- ", 1)[1]]
    with Clock(ignore=[__name__]) as clock:
        clock.advance(60)  # told to leave this module alone
    assert settings.clock is time.monotonic


def test_advance_listeners_carry_time_to_breakers_on_their_own_clock() -> None:
    moved: list[float] = []
    with Clock() as clock:
        remove = clock.on_advance(moved.append)
        clock.advance(5)
        remove()
        clock.advance(1)
    assert moved == [5]


def test_a_stored_clock_keeps_what_it_was_moved_across_a_pause() -> None:
    # Clock.paused() is where an app is built after the test moved time (real time inside);
    # a breaker that stored time.monotonic before must not go back by what was advanced.
    breaker = HandWrittenBreaker(open_timeout=30)
    with Clock() as clock:
        breaker.force_open()
        clock.advance(20)
        with clock.paused():
            pass
        assert breaker.state == "OPEN"
        clock.advance(10)  # 30 s in all: due for its probe
        assert breaker.state == "HALF_OPEN"


@pytest.fixture
def frozen_heap() -> Iterator[None]:
    """The heap frozen with ``gc.freeze()``, as suites do after collection; unfrozen after."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def test_holders_frozen_by_gc_freeze_are_found(frozen_heap: None) -> None:
    # gc.get_referrers does not search frozen objects: the breaker's default (a tuple made at
    # import) and an instance built before the freeze would keep real time, silently.
    built_before = HandWrittenBreaker(open_timeout=5)
    gc.freeze()
    with Clock() as clock:
        built_before.force_open()
        clock.advance(1)
        late = HandWrittenBreaker(open_timeout=5)
        late.force_open()
        clock.advance(4)
        assert built_before.state == "HALF_OPEN"
        assert "HandWrittenBreaker instance: _clock" in "\n".join(clock.repointed())
        clock.advance(4)
        assert late.state == "HALF_OPEN"
    assert gc.get_freeze_count() == 0  # searched: freezing again would keep garbage for good
    assert built_before._clock is time.monotonic
    assert HandWrittenBreaker.__init__.__defaults__ == (60.0, time.monotonic)
