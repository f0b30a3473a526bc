"""Plain containers that hold a real time function inside a module global.

``TIMERS = [{"name": "wall", "read": time.perf_counter}, ...]``: the dicts hold the function,
a list holds the dicts, the module holds the list. No object owns those dicts, so the sweep of
:mod:`._clock_holders` would find no owner for them, leave them on real time (as freezegun leaves
module globals) and, not knowing where they live, record nothing: every later clock would pass
over the heap again, once per test, at a cost that grows with the number of such dicts.
:func:`held_by_modules` finds the way up to a module through a few plain containers, so the
sweep can record them like a module's own global dict or list.
"""

from __future__ import annotations

import gc
import types
from collections.abc import Collection
from typing import Any

__all__ = ["held_by_modules"]

#: How many plain containers deep below a module global a holder is looked for.
_DEPTH = 3
_PLAIN = (dict, list, tuple)


def held_by_modules(
    containers: list[Any], namespaces: Collection[int], skip: set[int]
) -> list[Any]:
    """Those of ``containers`` that a module namespace (an id in ``namespaces``) holds through
    at most :data:`_DEPTH` dicts, lists or tuples. ``skip``: ids of the caller's own lists and
    dicts that refer to ``containers`` (its bookkeeping), never taken for a way up."""
    reached: set[int] = set()
    origins = {id(c): {id(c)} for c in containers}  # a container -> the originals below it
    seen = set(origins) | skip
    level = list(containers)
    for _ in range(_DEPTH):
        ids = set(origins)
        above: dict[int, set[int]] = {}
        parents: list[Any] = []
        for holder in gc.get_referrers(*level):
            if isinstance(holder, types.FrameType) or id(holder) in skip or holder is level:
                continue
            below = [id(c) for c in gc.get_referents(holder) if id(c) in ids]
            if not below:
                continue
            via = set().union(*(origins[c] for c in below))
            if id(holder) in namespaces:
                reached |= via
            elif type(holder) in _PLAIN:
                if id(holder) not in seen:
                    seen.add(id(holder))
                    parents.append(holder)
                above.setdefault(id(holder), set()).update(via)
        new = {id(p) for p in parents}
        level, origins = parents, {k: v for k, v in above.items() if k in new}
        if not level:
            break
    return [c for c in containers if id(c) in reached]
