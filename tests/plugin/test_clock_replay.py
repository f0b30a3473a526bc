"""A clock of a session re-points what the last full sweep found without another pass over the
heap when nothing changed, and sweeps the heap again whenever something that holds a real time
function appeared, let go, changed or died in between."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
import time
from collections.abc import Callable
from typing import NamedTuple

from pytest_hardening import Clock
from pytest_hardening._clock_cache import ClockCache

from ._clock_moves import moves


class Breaker:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock


def _two_clocks(
    cache: ClockCache, between: Callable[[], object], reads: Callable[[], float]
) -> None:
    with Clock(cache=cache) as clock:
        clock.advance(1)
    between()
    with Clock(cache=cache) as clock:
        assert moves(clock, reads) == 10.0


# Run in a fresh interpreter: in a test session other tests' objects (lists, frames) may hold
# real time functions, and then no sweep is recorded (rightly: the heap is swept every time).
_UNCHANGED = """
import gc, json, time
from pytest_hardening import Clock
from pytest_hardening._clock_cache import ClockCache

class Breaker:
    def __init__(self, clock=time.monotonic):
        self._clock = clock

passes = []
real = gc.get_referrers
gc.get_referrers = lambda *objects: passes.append(len(objects)) or real(*objects)
cache, kept, moved, repointed, sweeps = ClockCache(), Breaker(), [], [], []
for _ in range(3):
    with Clock(cache=cache) as clock:
        before = kept._clock()
        clock.advance(10)
        moved.append(round((kept._clock() - before) * 2) / 2)  # to the half second
        repointed.append(clock.repointed())
    sweeps.append(len(passes))
    restored = kept._clock is time.monotonic
print(json.dumps([moved, repointed, sweeps, restored, cache.sweep is not None]))
"""


def test_nothing_changed_the_same_holders_move_without_a_heap_pass() -> None:
    done = subprocess.run(  # noqa: S603 (our own interpreter, a fixed script)
        [sys.executable, "-c", _UNCHANGED], capture_output=True, text=True, check=True
    )
    moved, repointed, sweeps, restored, recorded = json.loads(done.stdout)
    assert moved == [10.0, 10.0, 10.0]
    assert repointed[0] == repointed[1] == repointed[2]
    assert any("Breaker instance: _clock" in r for r in repointed[0])
    assert restored
    assert recorded
    assert sweeps[0] > 0  # the first clock sweeps the heap; the next two re-point from the record
    assert sweeps[1] == sweeps[2] == sweeps[0]


# Module globals that keep real time functions in a dict and a list: freezegun leaves them on
# real time, and so does the clock; they must not cost every later clock a pass over the heap.
_MODULE_CONTAINERS = """
import gc, json, time
from pytest_hardening import Clock
from pytest_hardening._clock_cache import ClockCache

TIMERS = {"wall": time.perf_counter}
CLOCKS = [time.monotonic]
WALL = id(TIMERS["wall"])

passes = []
real = gc.get_referrers
gc.get_referrers = lambda *objects: passes.append(len(objects)) or real(*objects)
cache, sweeps, left = ClockCache(), [], []
for step in range(4):
    if step == 2:
        CLOCKS.append(time.monotonic)  # a global that changed: the heap is swept again
    with Clock(cache=cache) as clock:
        clock.advance(10)
        left.append(id(TIMERS["wall"]) == WALL)
    sweeps.append(len(passes))
print(json.dumps([sweeps, left, cache.sweep is not None]))
"""


def test_module_global_containers_are_left_alone_and_recorded() -> None:
    done = subprocess.run(  # noqa: S603 (our own interpreter, a fixed script)
        [sys.executable, "-c", _MODULE_CONTAINERS], capture_output=True, text=True, check=True
    )
    sweeps, left, recorded = json.loads(done.stdout)
    assert left == [True, True, True, True]  # on real time, as freezegun leaves globals
    assert recorded
    first, again, changed, after = (b - a for a, b in zip([0, *sweeps], sweeps, strict=False))
    assert first > 0
    assert again == 0  # the second clock trusts the record: no pass over the heap
    assert changed > 0  # the list took hold of one more real function: swept again
    assert after == 0


# Dicts that hold a real time function inside a module global list (and one level deeper):
# no object owns them; they are left on real time, and recorded all the same.
_NESTED_CONTAINERS = """
import gc, json, time
from pytest_hardening import Clock
from pytest_hardening._clock_cache import ClockCache

TIMERS = [{"i": i, "read": time.monotonic} for i in range(200)]
REGISTRY = {"timers": [{"read": time.perf_counter}]}

passes = []
real = gc.get_referrers
gc.get_referrers = lambda *objects: passes.append(len(objects)) or real(*objects)
cache, sweeps = ClockCache(), []
for step in range(3):
    if step == 2:
        TIMERS.append({"read": time.monotonic})  # one more: the heap is swept again
    with Clock(cache=cache) as clock:
        clock.advance(10)
        left = [TIMERS[0]["read"].__name__, REGISTRY["timers"][0]["read"].__name__]
    sweeps.append(len(passes))
print(json.dumps([sweeps, left, cache.sweep is not None]))
"""


def test_dicts_in_a_module_global_list_are_recorded_not_swept_for_every_clock() -> None:
    done = subprocess.run(  # noqa: S603 (our own interpreter, a fixed script)
        [sys.executable, "-c", _NESTED_CONTAINERS], capture_output=True, text=True, check=True
    )
    sweeps, left, recorded = json.loads(done.stdout)
    assert left == ["monotonic", "perf_counter"]  # the real functions: left on real time
    assert recorded
    first, again, changed = (b - a for a, b in zip([0, *sweeps], sweeps, strict=False))
    assert first > 0
    assert again == 0  # the second clock trusts the record: no pass over the heap
    assert changed > 0


def test_a_holder_made_between_clocks_is_found() -> None:
    cache = ClockCache()
    kept = Breaker()
    made: list[Breaker] = []
    _two_clocks(cache, lambda: made.append(Breaker()), lambda: made[0]._clock())
    assert kept._clock is time.monotonic


def test_a_holder_that_let_go_while_another_took_hold_is_found() -> None:
    """Same number of references as before, held elsewhere: the recorded holder's count says so."""
    cache = ClockCache()
    kept = Breaker()
    made: list[Breaker] = []

    def swap() -> None:
        kept._clock = time.perf_counter_ns  # type: ignore[assignment]
        made.append(Breaker())

    _two_clocks(cache, swap, lambda: made[0]._clock())


def test_a_holder_that_died_while_another_was_made_is_found() -> None:
    cache = ClockCache()
    holders = [Breaker()]

    def swap() -> None:
        holders.clear()
        holders.append(Breaker())

    _two_clocks(cache, swap, lambda: holders[0]._clock())


def test_a_default_argument_made_between_clocks_is_found() -> None:
    cache = ClockCache()
    made: list[Callable[[], float]] = []

    def define() -> None:
        def read(clock: Callable[[], float] = time.monotonic) -> float:
            return clock()

        made.append(read)

    _two_clocks(cache, define, lambda: made[0]())


def test_a_partial_made_between_clocks_is_found() -> None:
    cache = ClockCache()
    made: list[Callable[[], float]] = []
    _two_clocks(
        cache,
        lambda: made.append(functools.partial(lambda clock: clock(), time.monotonic)),
        lambda: made[0](),
    )


class _Timeout(NamedTuple):
    seconds: float
    clock: Callable[[], float]


def test_a_holder_an_earlier_clock_left_alone_is_not_kept_for_the_next() -> None:
    """A record keeps the holders it cannot reference weakly: one an earlier clock left alone
    (its module ignored) and that died since must not fail a later clock's advance."""
    cache = ClockCache()
    held = [_Timeout(30.0, time.monotonic)]  # a tuple: the clock cannot re-point it
    with Clock(cache=cache, ignore=[__name__]) as clock:
        clock.advance(1)  # left alone: recorded
    held.clear()
    with Clock(cache=cache) as clock:
        clock.advance(1)  # the tuple is gone: nothing to complain about
        assert clock.problems() == []
