"""ClockCache: what one clock learns about the process that the next clock can reuse.

Starting a clock and moving it the first time both look at the whole process:

- freezegun re-points every module attribute holding a real time function or class. To find
  them it calls ``dir()`` and ``getattr`` on each of the ~5,000 loaded modules at every start
  (its own cache is keyed by the attribute names, which it recomputes): 25-40 ms per start once
  the AI SDKs are imported. :class:`ModuleScan` reads each module's ``__dict__`` once and looks
  again only when the namespace changed size or a remembered attribute was rebound;
- the first :meth:`Clock.advance` looks for objects that stored a real time function with
  ``gc.get_referrers`` (a pass over the whole heap), then for the owners of the dicts, tuples
  and cells it found (another pass). :class:`Owners` remembers those owners (weakly), so the
  second pass runs only for containers it has not seen before; a
  :class:`~._clock_replay.SweepRecord` of the last full sweep lets the next clock skip both
  passes when nothing that holds a real time function changed.

One ``ClockCache`` is shared by the clocks of a test session (the plugin keeps it with its
app pool); nothing is kept at module level.
"""

from __future__ import annotations

import contextlib
import gc
import weakref
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import TYPE_CHECKING, Any

import freezegun.api

if TYPE_CHECKING:
    from ._clock_replay import SweepRecord

__all__ = ["SCAN_TYPES", "ClockCache", "ModuleScan", "Owners", "ScanList", "ScanPair"]


class ScanPair(tuple[str, Any]):
    """``(name, value)``: a module attribute holding a real time object, as found by a
    :class:`ModuleScan` (its own type, so that no sweep takes it for a holder, whichever
    clock cache it belongs to)."""

    __slots__ = ()


class ScanList(list[ScanPair]):
    """A :class:`ModuleScan`'s pairs for one module (its own type, as :class:`ScanPair`)."""

    __slots__ = ()


#: What a sweep leaves alone: the scans' own bookkeeping holds real functions by design.
SCAN_TYPES: tuple[type, ...] = (ScanPair, ScanList)


class ModuleScan:
    """Module attributes that hold real time objects, per module, remembered between starts.

    Read from the module's ``__dict__`` (never ``getattr``: a lazy module's ``__getattr__``
    would import things). Looked at again when the namespace is another object, changed size,
    or no longer holds what was found there.
    """

    def __init__(self) -> None:
        self._found: dict[str, tuple[int, int, ScanList]] = {}

    def attributes(self, module: ModuleType) -> Sequence[tuple[str, Any]]:
        namespace = getattr(module, "__dict__", None)
        if type(namespace) is not dict:
            return []
        name = namespace.get("__name__") or str(id(module))
        seen = self._found.get(name)
        if seen is not None and seen[0] == id(namespace) and seen[1] == len(namespace):
            found = seen[2]
            if not found:  # most modules: nothing to check again
                return found
            if all(namespace.get(key) is value for key, value in found):
                return found
        ids = freezegun.api._real_time_object_ids
        found = ScanList(
            ScanPair((key, value)) for key, value in namespace.copy().items() if id(value) in ids
        )
        self._found[name] = (id(namespace), len(namespace), found)
        return found

    @contextlib.contextmanager
    def used_by_freezegun(self) -> Iterator[None]:
        """Within the block freezegun's start asks this scan (it looks the function up in its
        module at each call); freezegun without that function scans as it always did."""
        api: Any = freezegun.api
        original = getattr(api, "_get_cached_module_attributes", None)
        if original is None or not hasattr(api, "_real_time_object_ids"):
            yield
            return
        api._get_cached_module_attributes = self.attributes
        try:
            yield
        finally:
            api._get_cached_module_attributes = original


class Owners:
    """The owner of each dict or tuple an earlier sweep found holding a real time function.

    Remembered only for a container with exactly one owner, held weakly; trusted only while
    the owner is alive and still refers to that very container.
    """

    def __init__(self) -> None:
        self._owners: dict[int, weakref.ref[Any]] = {}

    def owner(self, container: Any) -> Any:
        ref = self._owners.get(id(container))
        owner = ref() if ref is not None else None
        if owner is None or not any(r is container for r in gc.get_referents(owner)):
            return None
        return owner

    def remember(self, container: Any, owner: Any) -> None:
        try:
            self._owners[id(container)] = weakref.ref(owner)
        except TypeError:  # not weakly referenceable: looked up again next time
            self._owners.pop(id(container), None)

    def forget(self, container: Any) -> None:
        self._owners.pop(id(container), None)


class ClockCache:
    """Both caches, for the clocks of one test session."""

    def __init__(self) -> None:
        self.modules = ModuleScan()
        self.owners = Owners()
        self.sweep: SweepRecord | None = None
