"""ClockCache: what one clock learns about the process that the next clock can reuse.

Starting a clock and moving it the first time both look at the whole process:

- freezegun re-points every module attribute holding a real time function or class. To find
  them it calls ``dir()`` and ``getattr`` on each of the ~5,000 loaded modules at every start
  (its own cache is keyed by the attribute names, which it recomputes): 25-40 ms per start once
  the AI SDKs are imported. :class:`ModuleScan` reads each module's ``__dict__`` once and looks
  again only when the namespace changed size or a remembered attribute was rebound, and hands
  freezegun only the few hundred modules that hold something to re-point;
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

import gc
import sys
import weakref
from collections.abc import Iterator, Mapping, Sequence
from types import ModuleType, SimpleNamespace
from typing import TYPE_CHECKING, Any

import freezegun.api

from ._bound_sleeps import REAL_SLEEP

if TYPE_CHECKING:
    from ._clock_replay import SweepRecord

__all__ = [
    "SCAN_TYPES",
    "ClockCache",
    "ModuleScan",
    "Owners",
    "ScanList",
    "ScanPair",
    "stop_freezer",
]


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


class _ModuleRef(weakref.ref[ModuleType]):
    """A weak reference to a scanned module, with what to forget when it is freed."""

    __slots__ = ("key", "name")
    key: int
    name: str


class ModuleScan:
    """Module attributes that hold real time objects, per module, remembered between starts.

    Read from the module's ``__dict__`` (never ``getattr``: a lazy module's ``__getattr__``
    would import things). Looked at again when the namespace is another object, changed size,
    or no longer holds what was found there; forgotten when the module is freed (a module
    imported again may get the freed one's ids).
    """

    def __init__(self) -> None:
        self._found: dict[str, tuple[int, int, ScanList]] = {}
        #: The names under which a module holds the real ``time.sleep`` (bound at its import),
        #: with its namespace's id: for the clock's sleep watch (see _bound_sleeps).
        self._sleepers: dict[str, tuple[int, list[str]]] = {}
        #: Every scanned module, weakly, by id: none is kept alive here.
        self._refs: dict[int, _ModuleRef] = {}
        #: The ids of the loaded modules and their namespaces' sizes at the last
        #: :meth:`holding`, and the names of its answer.
        self._last: tuple[list[int], list[int], list[str]] | None = None

    def attributes(self, module: ModuleType) -> Sequence[tuple[str, Any]]:
        namespace = getattr(module, "__dict__", None)
        name = str(id(module))
        if type(namespace) is dict:
            name = namespace.get("__name__") or name
        if id(module) not in self._refs:
            self._watch(module, name)
        if type(namespace) is not dict:
            return []
        seen = self._found.get(name)
        if seen is not None and seen[0] == id(namespace) and seen[1] == len(namespace):
            found = seen[2]
            if not found:  # most modules: nothing to check again
                return found
            if all(namespace.get(key) is value for key, value in found):
                return found
        ids = freezegun.api._real_time_object_ids
        found, sleepers = ScanList(), []
        for key, value in namespace.copy().items():  # one pass for both
            if id(value) in ids:
                found.append(ScanPair((key, value)))
            elif value is REAL_SLEEP:
                sleepers.append(key)
        self._found[name] = (id(namespace), len(namespace), found)
        if sleepers:
            self._sleepers[name] = (id(namespace), sleepers)
        else:
            self._sleepers.pop(name, None)
        return found

    def bound_sleeps(self) -> Iterator[tuple[ModuleType, str]]:
        """``(module, name)`` for the names of loaded modules that held the real sleep when
        last scanned (the caller checks they still do)."""
        for name, (namespace_id, names) in list(self._sleepers.items()):
            module = sys.modules.get(name)
            if module is not None and id(getattr(module, "__dict__", None)) == namespace_id:
                yield from ((module, attribute) for attribute in names)

    def _watch(self, module: ModuleType, name: str) -> None:
        try:
            ref = _ModuleRef(module, self._freed)
        except TypeError:  # cannot be watched: remembered by its namespace's id alone
            return
        ref.key, ref.name = id(module), name
        self._refs[ref.key] = ref

    def _freed(self, ref: _ModuleRef) -> None:
        # Called before the module's memory is freed, so before its ids can be reused; also
        # while the interpreter exits, when module globals are already gone: no names used.
        self._last = None
        self._refs.pop(ref.key, None)
        self._found.pop(ref.name, None)
        self._sleepers.pop(ref.name, None)

    def holding(self, modules: Mapping[str, Any]) -> dict[str, ModuleType]:
        """The modules of ``modules`` (``sys.modules``) with an attribute that holds a real
        time object: the only ones freezegun's start has anything to re-point in."""
        # The same modules with namespaces of the same sizes as last time: the same answer
        # (compared in C: a per-module loop in Python is what a start costs). The held modules'
        # own attributes are checked again when freezegun asks for them.
        loaded = [module for module in list(modules.values()) if module is not None]
        try:
            sizes = list(map(len, map(vars, loaded)))
        except TypeError:  # an entry without a namespace: no shortcut this time
            sizes = []
        ids = list(map(id, loaded))
        last = self._last
        if sizes and last is not None and last[1] == sizes and last[0] == ids:
            return {name: modules[name] for name in last[2] if modules.get(name) is not None}
        found, attributes = self._found, self.attributes
        held: dict[str, ModuleType] = {}
        for name, module in list(modules.items()):
            # Inlined for most modules (nothing found, namespace unchanged): this loop is
            # what a start costs.
            namespace: Any = getattr(module, "__dict__", None)
            seen = found.get(name)
            if seen and not seen[2] and seen[0] == id(namespace) and seen[1] == len(namespace):
                continue
            if module is not None and attributes(module):
                held[name] = module
        # Only while every one of them is watched: a freed one forgets this answer.
        watched = sizes and all(map(self._refs.__contains__, ids))
        self._last = (ids, sizes, list(held)) if watched else None
        return held

    def start(self, freezer: Any, extra: Mapping[str, ModuleType] | None = None) -> Any:
        """``freezer.start()`` asking this scan, over the modules it has something to do in.

        freezegun's start walks every loaded module (~5,000) with checks of its own before it
        asks for a module's attributes; most of its time went there. For the duration of the
        start it sees this scan (it looks the function up in its module at each call) and a
        ``sys`` whose ``modules`` are those :meth:`holding` finds; what it re-points is the
        same. It records the modules loaded at start, to restore those loaded later at stop:
        that record is the whole ``sys.modules``, taken as freezegun takes it. ``extra``:
        modules outside ``sys.modules`` to freeze too (an app's package imported aside); their
        changes are undone at stop like the others. A freezegun without these names starts as
        it always did (``extra`` then unseen).
        """
        api: Any = freezegun.api
        original = getattr(api, "_get_cached_module_attributes", None)
        seams = getattr(api, "sys", None) is sys and hasattr(api, "_real_time_object_ids")
        if original is None or not seams:
            return freezer.start()
        at_start = set(sys.modules)
        api._get_cached_module_attributes = self.attributes
        modules = {**sys.modules, **extra} if extra else sys.modules
        api.sys = SimpleNamespace(modules=self.holding(modules))
        try:
            factory = freezer.start()
        finally:
            api._get_cached_module_attributes = original
            api.sys = sys
        if hasattr(freezer, "modules_at_start"):
            freezer.modules_at_start = at_start
        return factory


def stop_freezer(freezer: Any) -> None:
    """``freezer.stop()``, putting the real time objects back in the modules imported while it
    ran by reading their ``__dict__``.

    freezegun restores those modules with ``dir()`` and ``getattr`` on each attribute: a lazy
    module's ``__getattr__`` then imports what the app never asked for (the OpenAI SDK's
    ``openai.lib.streaming`` pulls in its whole beta API, about a second of CPU, at the end of
    the first test that wrote a script). A fake can only sit in a namespace, so what this puts
    back is what freezegun would; its own pass then has no module left to look at. A freezegun
    without these names stops as it always did.
    """
    api: Any = freezegun.api
    at_start = getattr(freezer, "modules_at_start", None)
    reals = getattr(freezer, "reals", None)
    fake_names = getattr(freezer, "fake_names", None)
    outermost = len(getattr(api, "freeze_factories", ())) == 1  # only its stop restores
    if outermost and type(at_start) is set and type(reals) is dict and fake_names is not None:
        ignore = tuple(getattr(freezer, "ignore", ()))
        loaded = set(sys.modules)
        for name in loaded - at_start:
            namespace = getattr(sys.modules.get(name), "__dict__", None)
            if type(namespace) is not dict or name.startswith(ignore):
                continue
            if name.endswith(".six.moves") or namespace.get("__name__") in ("datetime", "time"):
                continue
            for key, value in namespace.copy().items():
                real = reals.get(id(value))
                if real is not None and key not in fake_names:
                    namespace[key] = real
        freezer.modules_at_start = loaded
    freezer.stop()


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
