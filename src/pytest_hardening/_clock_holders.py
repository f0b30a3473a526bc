"""Re-point real time functions that objects stored before the clock started.

freezegun replaces ``time.monotonic`` & co. in ``time`` and in every module namespace, but a
breaker built earlier as ``def __init__(self, clock=time.monotonic): self._clock = clock`` keeps
the real function, in its ``__dict__`` and in the function's defaults, and never sees the
frozen clock move. :class:`RealClockHolders` finds such holders with ``gc.get_referrers`` and
swaps in a replacement the clock moves (restored on :meth:`undo`). What each kind of holder
has re-pointed (attributes, defaults, closure cells, ``functools.partial`` parts), which code
is left alone and which holders cannot be re-pointed (listed in :attr:`problems`) is
:mod:`._clock_repoint`'s; this module finds the holders, through the plain containers (dicts,
tuples, cells) that hold the functions up to the object that owns them.
"""

from __future__ import annotations

import functools
import gc
import sys
import types
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

import freezegun.api

from ._clock_globals import held_by_modules
from ._clock_places import function_containers, instance_dict
from ._clock_repoint import HolderRepointer

if TYPE_CHECKING:
    from ._clock_cache import Owners

__all__ = ["RealClockHolders", "real_time_functions"]

_NAMES = ("time", "monotonic", "perf_counter", "time_ns", "monotonic_ns", "perf_counter_ns")


def real_time_functions() -> list[Any]:
    """The real ``time`` functions freezegun saved before patching the ``time`` module."""
    api = freezegun.api
    return [getattr(api, f"real_{n}") for n in _NAMES if getattr(api, f"real_{n}", None)]


def _unfreeze_heap() -> None:
    """Put objects frozen with ``gc.freeze()`` back where ``gc.get_referrers`` searches.

    A suite that freezes its heap after collection (a speed-up: the collector then skips what
    the imports made) would hide every holder made before the freeze from the sweep, and the
    clock would silently leave them on real time. They stay unfrozen: freezing again after the
    sweep would also freeze the garbage of the tests so far, for good (a holder that cannot be
    re-pointed among it would fail every later ``advance``).
    """
    if gc.get_freeze_count():
        gc.unfreeze()


def _freezegun_containers(freezer: Any) -> set[int]:
    """Containers of freezegun's own that hold the real functions (its caches and undo log)."""
    api = freezegun.api
    known: set[int] = {id(api.real_date_objects)}
    for _, attributes in getattr(api, "_GLOBAL_MODULES_CACHE", {}).values():
        known.add(id(attributes))
        known.update(id(pair) for pair in attributes)
    for change in getattr(freezer, "undo_changes", ()):
        known.add(id(change))
    known.add(id(getattr(freezer, "reals", None)))
    return known


class RealClockHolders(HolderRepointer):
    """One sweep: re-point what can be, list what cannot; :meth:`undo` restores."""

    def __init__(self, *, ignore: Iterable[str] = (), known: Owners | None = None) -> None:
        super().__init__(ignore=ignore)
        self._known = known
        #: Every owner or holder the sweep handled (re-pointed or left alone), with its kind,
        #: and whether those are *all* the referrers of the real functions besides modules and
        #: the clock's own bookkeeping (what a :class:`~._clock_replay.SweepRecord` needs).
        self.sources: list[tuple[str, Any]] = []
        self.complete = True

    def sweep(
        self,
        freezer: Any,
        replace: Callable[[Any], Any],
        *,
        skip_types: tuple[type, ...] = (),
    ) -> RealClockHolders:
        """Re-point every holder found to ``replace(real_function)``; containers of a type in
        ``skip_types`` (the clock's own bookkeeping) are left alone."""
        reals = tuple(real_time_functions())  # passed on as is: its id is known
        fakes = {id(real): replace(real) for real in reals}
        skip = _freezegun_containers(freezer)
        skip.add(id(reals))
        namespaces = {id(m.__dict__) for m in list(sys.modules.values()) if hasattr(m, "__dict__")}
        skip.update(namespaces)
        _unfreeze_heap()
        containers: list[Any] = []
        for holder in gc.get_referrers(*reals):
            if id(holder) in skip or type(holder) in skip_types:
                continue
            if isinstance(holder, types.FrameType):
                self.complete = False  # neither re-pointed nor watched
            elif type(holder) in (dict, list, tuple, types.CellType):
                containers.append(holder)
            elif isinstance(holder, functools.partial):
                self.sources.append(("partial", holder))
                self._partial(holder, fakes)
            else:
                self.sources.append(("object", holder))
                self._object(holder, fakes)
        if containers:
            self._owners(containers, fakes, namespaces)
        return self

    def replay(self, sources: Iterable[tuple[str, Any]], replace: Callable[[Any], Any]) -> None:
        """Re-point what ``sources`` (an earlier sweep's :attr:`sources`) hold, without a heap
        pass; whether that is everything is for the caller to check."""
        fakes = {id(real): replace(real) for real in real_time_functions()}
        for kind, source in sources:
            if kind == "partial":
                self._partial(source, fakes)
            elif kind == "object":
                self._object(source, fakes)
            elif kind == "function":
                self._function(source, function_containers(source), fakes)
            elif kind == "class":
                self._class(source, {}, fakes)
            elif kind == "global":
                continue  # left alone (see _owners)
            else:
                namespace = instance_dict(source)
                self._owner(source, {id(namespace): namespace}, fakes)

    # -- holders -------------------------------------------------------------------------------

    def _owners(self, containers: list[Any], fakes: dict[int, Any], namespaces: set[int]) -> None:
        wanted = {id(c): c for c in containers}
        unknown = []
        for container in containers:  # owners an earlier sweep found: no heap pass for them
            owner = self._known.owner(container) if self._known is not None else None
            if owner is None:
                unknown.append(container)
            else:
                self._source(owner)
                self._owner(owner, wanted, fakes)
        if not unknown:
            return
        closures = []
        found: dict[int, list[Any]] = {}
        for owner in gc.get_referrers(*unknown):
            if isinstance(owner, types.FrameType) or id(owner) in wanted:
                continue
            if id(owner) in namespaces:
                continue  # a module global: held_by_modules' (below)
            if type(owner) is tuple and any(
                type(c) is types.CellType and id(c) in wanted for c in owner
            ):
                closures.append(owner)  # a function's __closure__: one more step to the function
                continue
            held = gc.get_referents(owner)  # before re-pointing, which may replace a tuple
            if self._owner(owner, wanted, fakes):
                self._source(owner)
                for container in held:
                    found.setdefault(id(container), []).append(owner)
        if closures:
            tuples = {id(t) for t in closures}
            for fn in gc.get_referrers(*closures):
                if isinstance(fn, types.FunctionType) and id(fn.__closure__) in tuples:
                    self._source(fn)
                    self._function(fn, wanted, fakes)
                    found.update((id(cell), [fn]) for cell in fn.__closure__ or ())
        # A module's global dict, list or tuple, or one inside such a global: left on real
        # time, as freezegun leaves module globals it does not own, but recorded, so that the
        # next clock can tell whether it changed without another pass over the heap.
        missing = [c for c in unknown if id(c) not in found]
        bookkeeping = {id(containers), id(unknown), id(wanted), id(missing)}
        for container in held_by_modules(missing, namespaces, bookkeeping) if missing else ():
            self.sources.append(("global", container))
            found[id(container)] = []
        if any(id(c) not in found for c in unknown):
            self.complete = False  # a container whose owner was not found
        if self._known is not None:
            for container in unknown:
                owners = found.get(id(container), [])
                if len(owners) == 1 and type(container) is not types.CellType:
                    self._known.remember(container, owners[0])

    def _source(self, owner: Any) -> None:
        if isinstance(owner, types.FunctionType):
            kind = "function"
        elif isinstance(owner, type):
            kind = "class"
        elif isinstance(owner, functools.partial):
            kind = "partial"
        else:
            kind = "instance"
        self.sources.append((kind, owner))
