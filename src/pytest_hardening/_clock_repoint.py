"""Re-pointing what one holder keeps of the real time functions at their replacements, and
putting it back: an instance's attributes (``__dict__``, ``__slots__``, frozen dataclasses too),
a class's, a function's defaults, keyword defaults (not ``_private`` parameters: the
local-binding idiom of library wait loops, which must keep real time), attributes and closure
cells, a ``functools.partial``'s function, arguments and keywords. What cannot be re-pointed (a
tuple, a C object) is a problem that says what to do instead. Code in the standard library,
pytest, freezegun, the event-loop libraries and this plugin is left alone, as are modules in
``ignore``. The heap sweep that finds the holders (:class:`~._clock_holders.RealClockHolders`)
builds on it."""

from __future__ import annotations

import functools
import gc
import sys
import types
from collections.abc import Callable, Iterable
from typing import Any

from ._clock_places import instance_dict, restore_attr, restore_cell, restore_item, restore_slot

__all__ = ["DEFAULT_IGNORE", "HolderRepointer"]

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


def _qualname(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__name__)}"


class HolderRepointer:
    """Re-points holders one at a time (:attr:`patched`), lists those it cannot
    (:attr:`problems`); :meth:`undo` restores them all."""

    def __init__(self, *, ignore: Iterable[str] = ()) -> None:
        self.ignore = (*DEFAULT_IGNORE, *ignore)
        self.problems: list[str] = []
        self.patched: list[str] = []
        self._undo: list[Callable[[], None]] = []

    def undo(self) -> None:
        while self._undo:
            self._undo.pop()()

    def _ignored(self, module: str | None) -> bool:
        if not module:
            return False
        top = module.partition(".")[0]
        return top in sys.stdlib_module_names or module.startswith(self.ignore)

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
