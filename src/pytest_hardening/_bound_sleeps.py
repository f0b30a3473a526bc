"""Modules that bound the real ``time.sleep`` under a name of their own, pointed at a watch.

``from time import sleep`` at a module's import (kombu's retries of an unreachable broker)
keeps the real function: a watch that replaces ``time.sleep`` never sees those calls, and a
test that waited 19 s for them read ``real_sleeps == []``. The clock's module scan, which
reads each module's namespace once a session (see :class:`~._clock_cache.ModuleScan`), notes
such names as well; while the clock's sleep watch runs they point at its wrapper
(:class:`Repointed`), and back when it stops.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

__all__ = ["LIBRARY_HELD", "REAL_SLEEP", "Repointed", "is_real", "unstopped"]

#: Modules whose bound sleep the retry-library support stands in for itself (redis-py's
#: ``Retry``: see ``_SLEEP_HOLDERS`` in :mod:`._retry_libraries`): left to it.
LIBRARY_HELD = frozenset({"redis.retry", "redis.asyncio.retry"})

#: The sleep as the standard library made it, before any watch replaced ``time.sleep``.
REAL_SLEEP = time.sleep


def is_real(value: Any) -> bool:
    """``time.sleep`` itself, or a watch's wrapper around it (a watch nested outside ours)."""
    while value is not REAL_SLEEP:
        value = getattr(value, "real_sleep", None)
        if value is None:
            return False
    return True


class Repointed:
    """The names a watch pointed at its wrapper, to point back at :meth:`undo`."""

    def __init__(self) -> None:
        self._done: list[tuple[ModuleType, str, Any, Any]] = []

    def repoint(
        self, holders: Iterable[tuple[ModuleType, str]], wrap: Callable[[Any], Any]
    ) -> None:
        """Point each name that holds the real sleep (or a watch's wrapper of it) at
        ``wrap(what it holds)``: what the module bound stays what its calls reach (not a test's
        stand-in for ``time.sleep``), and an outer watch still sees them."""
        mine = {id(wrapper) for _, _, wrapper, _ in self._done}
        for module, name in holders:
            before = module.__dict__.get(name)
            if id(before) not in mine and is_real(before):
                before = unstopped(before)
                wrapper = wrap(before)
                setattr(module, name, wrapper)
                self._done.append((module, name, wrapper, before))

    def undo(self) -> None:
        done, self._done = self._done, []
        for module, name, wrapper, before in reversed(done):
            if module.__dict__.get(name) is wrapper:
                setattr(module, name, before)
            else:  # patched over since (a retry library's stand-in), and put back after us:
                wrapper.stopped = True  # the next watch takes it out (unstopped)


def unstopped(value: Any) -> Any:
    """``value`` past the wrappers of watches that stopped out of order (left behind in
    ``time.sleep`` under another watch's wrapper, or in a module's name by a patch undone after
    the watch)."""
    while getattr(value, "stopped", False):
        value = value.real_sleep
    return value
