"""Back-off of functions that import ``time`` or ``asyncio`` inside themselves.

A module named for virtual back-off usually holds ``time`` or ``asyncio`` (or a ``sleep`` from
them) among its names, which a stand-in then replaces (see :mod:`._own_backoff`). A function
that imports inside itself (``import asyncio`` in a retry loop, to keep the module's import
light) holds nothing the module's names could point elsewhere: it looks ``asyncio.sleep`` up on
the real module at each call. The watches of real sleeps wrap those functions
(:mod:`._sleep_watch`), and :class:`CallersSleeps` tells them which callers' sleeps move the
clock instead, by the module whose code called.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["CallersSleeps", "sleeps_inside"]

#: Modules a function may import to sleep whose ``sleep`` the watches wrap (anyio's binds
#: asyncio's own at its import: out of their reach).
_MODULES = frozenset({"time", "asyncio"})


def sleeps_inside(functions: list[Any]) -> bool:
    """Whether one of ``functions`` (a module's own) imports ``time`` or ``asyncio`` and names
    ``sleep``, in its body or a function nested in it."""
    return any(_imports_a_sleep(f.__code__) for f in functions if hasattr(f, "__code__"))


def _imports_a_sleep(code: types.CodeType) -> bool:
    return any("sleep" in c.co_names and _MODULES & set(c.co_names) for c in _codes(code))


def _codes(code: types.CodeType) -> Iterator[types.CodeType]:
    yield code
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _codes(const)


class CallersSleeps:
    """The modules whose functions' own imports sleep: a sleep they call moves ``moved`` (a
    clock, if any serves the test) instead (see :class:`._sleep_watch.Diversion`)."""

    def __init__(self, moved: Callable[..., bool]) -> None:
        self._moved = moved
        self._globals: list[dict[str, Any]] = []

    def add(self, module: types.ModuleType) -> None:
        if not any(g is vars(module) for g in self._globals):
            self._globals.append(vars(module))

    def clear(self) -> None:
        self._globals = []

    def calls_own(self, frame: Any) -> bool:
        caller = getattr(frame, "f_globals", None)
        return any(caller is g for g in self._globals)

    def moved_for(self, seconds: float, *, task: bool = False) -> bool:
        return bool(self._moved(seconds, task=task))
