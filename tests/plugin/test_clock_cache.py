"""Clocks sharing a ClockCache (one per test session) behave exactly like fresh ones: every
module attribute and every stored real time function is re-pointed, also what appeared or
changed between two clocks, and everything is restored when a clock stops."""

from __future__ import annotations

import datetime as dt
import gc
import importlib
import sys
import time
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from pytest_hardening import Clock
from pytest_hardening._clock_cache import ClockCache

from ._clock_moves import moves


class Breaker:
    def __init__(self, open_timeout: float = 60.0, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self.open_timeout = open_timeout
        self.opened_at = clock()

    def is_open(self) -> bool:
        return self._clock() - self.opened_at < self.open_timeout


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
            assert moves(clock, module.now) == 10.0
        assert module.now is freezegun_real("monotonic")


def test_attributes_added_or_rebound_between_clocks_are_found(module: types.ModuleType) -> None:
    cache = ClockCache()
    with Clock(cache=cache):
        pass
    module.later = time.perf_counter  # type: ignore[attr-defined]  # the namespace grew
    module.now = time.time  # rebound: the remembered attribute no longer holds monotonic
    with Clock(cache=cache) as clock:
        assert moves(clock, module.later) == 10.0
        assert moves(clock, module.now) == 10.0
    assert module.later is freezegun_real("perf_counter")
    assert module.now is freezegun_real("time")


def test_a_module_imported_while_a_clock_runs_gets_the_real_functions_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A start hands freezegun only the modules that hold a real time object; the modules it
    # restores at stop (those loaded after the start) must still be judged against all of them.
    name = "hardening_clock_cache_imported_late"
    (tmp_path / f"{name}.py").write_text("from time import monotonic as now\n")
    monkeypatch.syspath_prepend(tmp_path)
    monkeypatch.delitem(sys.modules, name, raising=False)
    cache = ClockCache()
    with Clock(cache=cache):  # the cache has seen the process
        pass
    with Clock(cache=cache) as clock:
        late = importlib.import_module(name)
        assert late.now is not freezegun_real("monotonic")
        assert moves(clock, late.now) == 10.0
    assert late.now is freezegun_real("monotonic")
    with Clock(cache=cache) as clock:  # and the next clock finds it like any other module
        assert moves(clock, late.now) == 10.0
    assert late.now is freezegun_real("monotonic")


def test_no_lazy_attribute_is_asked_of_a_module_at_start_or_stop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # freezegun's own start and stop call getattr on every name dir() lists: a lazy module's
    # __getattr__ then imports whatever it stands for (the OpenAI SDK's whole beta API).
    name = "hardening_clock_cache_lazy"
    (tmp_path / f"{name}.py").write_text(
        "from time import monotonic as now\n"
        "ASKED = []\n"
        "def __getattr__(attribute):\n"
        "    ASKED.append(attribute)\n"
        "    raise AttributeError(attribute)\n"
        "def __dir__():\n"
        "    return [*globals(), 'heavy_submodule']\n"
    )
    monkeypatch.syspath_prepend(tmp_path)
    monkeypatch.delitem(sys.modules, name, raising=False)
    for cache in (ClockCache(), None):
        monkeypatch.delitem(sys.modules, name, raising=False)
        with Clock(cache=cache) as clock:
            lazy = importlib.import_module(name)
            assert moves(clock, lazy.now) == 10.0
        assert lazy.ASKED == []
        assert lazy.now is freezegun_real("monotonic")  # restored all the same
        with Clock(cache=cache) as clock:  # and a start, now that it is loaded, asks none either
            assert moves(clock, lazy.now) == 10.0
        assert lazy.ASKED == []


def test_modules_with_nothing_to_repoint_are_left_out_of_the_start(
    module: types.ModuleType,
) -> None:
    cache = ClockCache()
    with Clock(cache=cache):
        pass
    holding = cache.modules.holding(sys.modules)
    assert holding[module.__name__] is module
    assert "json" not in holding  # no time function among its attributes
    names = ("time", "monotonic", "perf_counter", "gmtime", "localtime", "strftime")
    names += ("time_ns", "monotonic_ns", "perf_counter_ns")
    reals = {id(getattr(time, name)) for name in names} | {id(dt.datetime), id(dt.date)}
    for name, held in holding.items():
        assert any(id(value) in reals for value in vars(held).values()), name


def test_a_module_that_held_nothing_is_looked_at_again_when_it_grows() -> None:
    cache = ClockCache()
    quiet = types.ModuleType("hardening_clock_cache_quiet")
    sys.modules[quiet.__name__] = quiet
    try:
        with Clock(cache=cache):  # remembered: nothing to re-point here
            pass
        quiet.later = time.perf_counter  # type: ignore[attr-defined]  # the namespace grew
        with Clock(cache=cache) as clock:
            assert moves(clock, quiet.later) == 10.0
        assert quiet.later is freezegun_real("perf_counter")
    finally:
        del sys.modules[quiet.__name__]


def test_a_module_replaced_by_one_of_the_same_size_is_looked_at_again() -> None:
    # A module dropped and imported again (as pytester's runs do) whose namespace has the same
    # size: made right after the other is freed, it usually gets the freed one's id.
    cache = ClockCache()
    name = "hardening_clock_cache_replaced"
    quiet = types.ModuleType(name)
    quiet.now = 1  # type: ignore[attr-defined]
    sys.modules[name] = quiet
    try:
        with Clock(cache=cache):  # remembered: nothing to re-point here
            pass
        del sys.modules[name], quiet
        again = types.ModuleType(name)
        again.now = time.monotonic  # type: ignore[attr-defined]
        sys.modules[name] = again
        with Clock(cache=cache) as clock:
            assert moves(clock, again.now) == 10.0
        assert again.now is freezegun_real("monotonic")
    finally:
        sys.modules.pop(name, None)


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
        assert moves(clock, read) == 10.0
    read.__defaults__ = (time.perf_counter,)  # a new tuple owned by the same function
    with Clock(cache=cache) as clock:
        assert moves(clock, read) == 10.0
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
            # The first look meets a problem, collects (takes a while) and looks again.
            assert moves(clock, lambda: breaker._clock()) == 10.0  # the attribute, re-pointed
            assert clock.problems() == []
    finally:
        gc.enable()
