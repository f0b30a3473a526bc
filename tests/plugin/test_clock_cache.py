"""Clocks sharing a ClockCache (one per test session) behave exactly like fresh ones: every
module attribute and every stored real time function is re-pointed, also what appeared or
changed between two clocks, and everything is restored when a clock stops."""

from __future__ import annotations

import gc
import sys
import time
import types
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import pytest

from pytest_hardening import Clock
from pytest_hardening._clock_cache import ClockCache


class Breaker:
    def __init__(self, open_timeout: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.open_timeout = open_timeout
        self.opened_at = clock()

    def is_open(self) -> bool:
        return self._clock() - self.opened_at < self.open_timeout


def _moves(clock: Clock, read: Callable[[], float]) -> float:
    before = read()
    clock.advance(10)
    return round(read() - before, 3)


@pytest.fixture
def module() -> Iterator[types.ModuleType]:
    mod = types.ModuleType("hardening_clock_cache_probe")
    mod.now = time.monotonic  # type: ignore[attr-defined]  # `from time import monotonic as now`
    sys.modules[mod.__name__] = mod
    try:
        yield mod
    finally:
        del sys.modules[mod.__name__]


def test_module_attributes_are_repointed_by_every_clock_of_a_session(
    module: types.ModuleType,
) -> None:
    cache = ClockCache()
    for _ in range(2):  # the second start answers from the cache
        with Clock(cache=cache) as clock:
            assert module.now is not freezegun_real("monotonic")
            assert _moves(clock, module.now) == 10.0
        assert module.now is freezegun_real("monotonic")


def test_attributes_added_or_rebound_between_clocks_are_found(module: types.ModuleType) -> None:
    cache = ClockCache()
    with Clock(cache=cache):
        pass
    module.later = time.perf_counter  # type: ignore[attr-defined]  # the namespace grew
    module.now = time.time  # rebound: the remembered attribute no longer holds monotonic
    with Clock(cache=cache) as clock:
        assert _moves(clock, module.later) == 10.0
        assert _moves(clock, module.now) == 10.0
    assert module.later is freezegun_real("perf_counter")
    assert module.now is freezegun_real("time")


def test_stored_real_functions_are_repointed_by_every_clock_of_a_session() -> None:
    cache = ClockCache()
    kept = Breaker()  # its holder's owner is remembered by the first clock
    for _ in range(3):
        with Clock(cache=cache) as clock:
            kept.opened_at = kept._clock()  # on its own (real) clock, just before time moves
            clock.advance(59)
            assert kept.is_open()
            clock.advance(1)
            assert not kept.is_open()
            assert any("Breaker instance: _clock" in r for r in clock.repointed())
        assert kept._clock is freezegun_real("monotonic")


def test_holders_new_since_the_last_clock_are_found() -> None:
    cache = ClockCache()
    with Clock(cache=cache) as clock:
        clock.advance(1)
    newer = Breaker(open_timeout=5)  # built between two clocks of the session
    with Clock(cache=cache) as clock:
        newer.opened_at = newer._clock()
        clock.advance(5)
        assert not newer.is_open()


def test_defaults_replaced_between_clocks_are_repointed() -> None:
    cache = ClockCache()

    def read(clock: Callable[[], float] = time.monotonic) -> float:
        return clock()

    with Clock(cache=cache) as clock:
        assert _moves(clock, read) == 10.0
    read.__defaults__ = (time.perf_counter,)  # a new tuple owned by the same function
    with Clock(cache=cache) as clock:
        assert _moves(clock, read) == 10.0
    assert read.__defaults__ == (freezegun_real("perf_counter"),)


def freezegun_real(name: str) -> Callable[[], float]:
    import freezegun.api

    real: Callable[[], float] = getattr(freezegun.api, f"real_{name}")
    return real


class _Node(NamedTuple):
    clock: Callable[[], float]
    peers: list[Any]


def test_a_second_look_after_collecting_garbage_does_not_restart_the_timeline() -> None:
    breaker = Breaker()
    gc.disable()  # the cycle below stays until the clock collects it
    try:
        node = _Node(time.monotonic, [])
        node.peers.append(node)  # garbage only a collection frees, holding the real function
        del node
        with Clock(cache=ClockCache()) as clock:
            before = breaker._clock()
            clock.advance(10)  # first look: a problem; collect (takes a while); look again
            assert clock.problems() == []
            assert round(breaker._clock() - before, 3) == 10.0
    finally:
        gc.enable()
