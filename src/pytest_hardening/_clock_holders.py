"""Re-point real time functions that objects stored before the clock started.

freezegun replaces ``time.monotonic`` & co. in ``time`` and in every module namespace, but a
breaker built earlier as ``def __init__(self, clock=time.monotonic): self._clock = clock`` keeps
the real function, in its ``__dict__`` and in the function's defaults, and never sees the
frozen clock move. :class:`RealClockHolders` finds such holders with ``gc.get_referrers`` and
swaps in a replacement the clock moves (restored on :meth:`undo`):

- instance attributes (``__dict__``, ``__slots__``, frozen dataclasses too), class attributes;
- function defaults and keyword defaults (not ``_private`` parameters: ``_time=time.monotonic``
  is the local-binding idiom of library wait loops, which must keep real time), closure cells;
- ``functools.partial`` functions, arguments and keywords.

Holders it cannot re-point (a tuple such as a ``NamedTuple`` instance, a C object) are listed in
:attr:`problems`. Code in the standard library, pytest, freezegun, the event-loop libraries and
this plugin is left alone, as are modules in ``ignore``.
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
from ._clock_places import (
    function_containers,
    instance_dict,
    restore_attr,
    restore_cell,
    restore_item,
    restore_slot,
)

if TYPE_CHECKING:
    from ._clock_cache import Owners

__all__ = ["DEFAULT_IGNORE", "RealClockHolders", "real_time_functions"]

DEFAULT_IGNORE = (
    "freezegun",
    "_pytest",
    "pytest",
    "pluggy",
    "pytest_hardening",
    "anyio",
    "trio",
    "sniffio",
    "uvloop",
)
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


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__name__)}"


class RealClockHolders:
    """One sweep: re-point what can be, list what cannot; :meth:`undo` restores."""

    def __init__(self, *, ignore: Iterable[str] = (), known: Owners | None = None) -> None:
        self.ignore = (*DEFAULT_IGNORE, *ignore)
        self._known = known
        self.problems: list[str] = []
        self.patched: list[str] = []
        #: Every owner or holder the sweep handled (re-pointed or left alone), with its kind,
        #: and whether those are *all* the referrers of the real functions besides modules and
        #: the clock's own bookkeeping (what a :class:`~._clock_replay.SweepRecord` needs).
        self.sources: list[tuple[str, Any]] = []
        self.complete = True
        self._undo: list[Callable[[], None]] = []

    def _ignored(self, module: str | None) -> bool:
        if not module:
            return False
        top = module.partition(".")[0]
        return top in sys.stdlib_module_names or module.startswith(self.ignore)

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

    def undo(self) -> None:
        while self._undo:
            self._undo.pop()()

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

    def _owner(self, owner: Any, wanted: dict[int, Any], fakes: dict[int, Any]) -> bool:
        """Re-point what ``owner`` holds in ``wanted``; False if it is not a kind of owner."""
        if isinstance(owner, types.FunctionType):
            self._function(owner, wanted, fakes)
        elif isinstance(owner, type):
            self._class(owner, wanted, fakes)
        elif isinstance(owner, functools.partial):
            self._partial(owner, fakes)
        else:
            namespace = instance_dict(owner)
            if id(namespace) not in wanted:
                return False
            if not self._ignored(type(owner).__module__):
                self._dict(namespace, fakes, f"{_qualname(type(owner))} instance")
        return True

    def _dict(self, namespace: dict[str, Any], fakes: dict[int, Any], label: str) -> None:
        for key, value in list(namespace.items()):
            fake = fakes.get(id(value))
            if fake is None or (label.endswith("keyword defaults") and str(key).startswith("_")):
                continue
            namespace[key] = fake
            self.patched.append(f"{label}: {key}")
            self._undo.append(functools.partial(restore_item, namespace, key, fake, value))

    def _function(self, fn: Any, wanted: dict[int, Any], fakes: dict[int, Any]) -> None:
        if self._ignored(fn.__module__):
            return
        label = _qualname(fn)
        if id(fn.__defaults__) in wanted:
            self._defaults(fn, fakes, label)
        if id(fn.__kwdefaults__) in wanted:
            self._dict(fn.__kwdefaults__, fakes, f"{label} keyword defaults")
        if id(fn.__dict__) in wanted:
            self._dict(fn.__dict__, fakes, f"{label} attributes")
        for name, cell in zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False):
            fake = fakes.get(id(cell.cell_contents)) if id(cell) in wanted else None
            if fake is not None:
                real, cell.cell_contents = cell.cell_contents, fake
                self.patched.append(f"{label}: closure variable {name}")
                self._undo.append(functools.partial(restore_cell, cell, fake, real))

    def _defaults(self, fn: Any, fakes: dict[int, Any], label: str) -> None:
        old = fn.__defaults__
        code = fn.__code__
        params = code.co_varnames[: code.co_argcount][-len(old) :]
        new = tuple(
            fakes.get(id(v), v) if not name.startswith("_") else v
            for name, v in zip(params, old, strict=True)
        )
        if any(a is not b for a, b in zip(new, old, strict=True)):  # identity: no __eq__ calls
            fn.__defaults__ = new
            self.patched.append(f"{label}: default arguments")
            self._undo.append(functools.partial(restore_attr, fn, "__defaults__", new, old))

    def _class(self, cls: type, wanted: dict[int, Any], fakes: dict[int, Any]) -> None:
        if self._ignored(cls.__module__):
            return
        for key, value in list(vars(cls).items()):
            fake = fakes.get(id(value))
            if fake is None:
                continue
            try:
                setattr(cls, key, fake)
            except (TypeError, AttributeError) as exc:
                self._cannot(f"class {_qualname(cls)}, attribute {key}", value, str(exc))
                continue
            self.patched.append(f"class {_qualname(cls)}: {key}")
            self._undo.append(functools.partial(restore_attr, cls, key, fake, value))

    def _partial(self, part: Any, fakes: dict[int, Any]) -> None:
        held = [part.func, *part.args, *part.keywords.values()]
        owner = None if id(part.func) in fakes else getattr(part.func, "__module__", None)
        if self._ignored(owner) or not any(id(v) in fakes for v in held):
            return
        func = fakes.get(id(part.func), part.func)
        args = tuple(fakes.get(id(a), a) for a in part.args)
        keywords = {k: fakes.get(id(v), v) for k, v in part.keywords.items()}
        state = part.__reduce__()[2]
        self.patched.append(f"functools.partial of {_qualname(part.func)}")
        part.__setstate__((func, args, keywords, state[3]))
        self._undo.append(functools.partial(part.__setstate__, state))

    def _object(self, holder: Any, fakes: dict[int, Any]) -> None:
        cls = type(holder)
        if self._ignored(cls.__module__):
            return
        namespace = instance_dict(holder)  # attributes not yet in a dict (CPython 3.11+)
        before = len(self.patched)
        if namespace is not None:
            self._dict(namespace, fakes, f"{_qualname(cls)} instance")
        found = len(self.patched) > before
        for klass in cls.__mro__:
            for name, member in vars(klass).items():
                if not isinstance(member, types.MemberDescriptorType):
                    continue
                value = member.__get__(holder, cls)
                fake = fakes.get(id(value))
                if fake is not None:
                    found = True
                    member.__set__(holder, fake)  # bypasses a frozen dataclass's __setattr__
                    self.patched.append(f"{_qualname(cls)} instance: {name}")
                    self._undo.append(functools.partial(restore_slot, member, holder, fake, value))
        if not found:
            real = next(r for r in gc.get_referents(holder) if id(r) in fakes)
            why = "a tuple" if isinstance(holder, tuple) else "no writable attribute"
            self._cannot(f"{_qualname(cls)} object {_short_repr(holder)}", real, why)

    def _cannot(self, where: str, real: Any, why: str) -> None:
        self.problems.append(
            f"{where} holds the real time.{real.__name__}, stored before the clock started, "
            f"and cannot be re-pointed ({why}): whatever reads time through it stays on real "
            f"time. Look the time up when it is needed (`time.{real.__name__}()`, or "
            f"`clock=lambda: time.{real.__name__}()`), or keep it in an attribute or a default "
            "argument, which the clock re-points; or pass the module to Clock(ignore=...)."
        )


def _short_repr(obj: Any) -> str:
    text = repr(obj)
    return text if len(text) <= 80 else text[:77] + "..."
