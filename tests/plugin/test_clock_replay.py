"""A clock of a session re-points what the last full sweep found without another pass over the
heap when nothing changed, and sweeps the heap again whenever something that holds a real time
function appeared, let go, changed or died in between."""

from __future__ import annotations

import functools
import gc
import time
from collections.abc import Callable

import pytest

from pytest_hardening import Clock
from pytest_hardening._clock_cache import ClockCache


class Breaker:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock


@pytest.fixture
def heap_passes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times ``gc.get_referrers`` ran (the sweep's passes over the heap)."""
    passes: list[int] = []
    real = gc.get_referrers

    def counted(*objects: object) -> list[object]:
        passes.append(len(objects))
        return real(*objects)

    monkeypatch.setattr(gc, "get_referrers", counted)
    return passes


def _moves(clock: Clock, read: Callable[[], float]) -> float:
    before = read()
    clock.advance(10)
    return round(read() - before, 3)


def _two_clocks(
    cache: ClockCache, between: Callable[[], object], reads: Callable[[], float]
) -> None:
    with Clock(cache=cache) as clock:
        clock.advance(1)
    between()
    with Clock(cache=cache) as clock:
        assert _moves(clock, reads) == 10.0


def test_nothing_changed_the_same_holders_move_without_a_heap_pass(
    heap_passes: list[int],
) -> None:
    gc.collect()  # earlier tests' garbage holding real functions, freed in between, would
    # rightly make the second clock sweep the heap again
    cache = ClockCache()
    kept = Breaker()
    with Clock(cache=cache) as clock:
        assert _moves(clock, lambda: kept._clock()) == 10.0
        first = clock.repointed()
    assert heap_passes  # the first clock of the session sweeps the heap
    heap_passes.clear()
    for _ in range(2):
        with Clock(cache=cache) as clock:
            assert _moves(clock, lambda: kept._clock()) == 10.0
            assert clock.repointed() == first
        assert kept._clock is time.monotonic  # restored as after a sweep
    if cache.sweep is None:
        pytest.skip("this interpreter's first sweep met a referrer it cannot watch")
    assert heap_passes == []


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
