"""ImportWatch: run a callback each time the app imports one of a few libraries, while started.

An app often imports a heavy SDK or a retry library where it first uses it (inside a handler,
a dependency, a lazily built client), long after the injector started. Its network transports
and back-off sleeps must be reached all the same, or its requests escape the fakes and its
retries sleep for real. A finder first on ``sys.meta_path`` wraps the loader of each module of
the watched packages; when the outermost such import of a thread finishes, the callback runs
(so a package's own ``__init__`` has completed, submodules included).

The wrapper hands the module its real loader before the module runs: nothing the module or
later code reads (``__loader__``, ``__spec__.loader``, resources, source) sees the watch.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

__all__ = ["ImportWatch", "PatchedWhenLoaded", "RealLoader", "wrapped_spec"]


class ImportWatch:
    """While started, ``on_import()`` runs after each import of a module whose top-level
    package is in ``packages``, or whose name ends with one of ``suffixes`` (a generated SDK's
    ``._base_client``), not for modules already imported."""

    def __init__(
        self,
        packages: Iterable[str],
        on_import: Callable[[], None],
        *,
        suffixes: tuple[str, ...] = (),
    ) -> None:
        self._packages = frozenset(packages)
        self._suffixes = suffixes
        self._on_import = on_import
        self._depth = threading.local()

    def watch(self, packages: Iterable[str]) -> None:
        """Watch these top-level packages too (modules named before they were importable)."""
        self._packages = self._packages | frozenset(packages)

    @property
    def started(self) -> bool:
        return self in sys.meta_path

    def start(self) -> ImportWatch:
        if not self.started:
            sys.meta_path.insert(0, self)
        return self

    def stop(self) -> None:
        # Another finder may have been inserted in front since: remove this one wherever it is.
        while self in sys.meta_path:
            sys.meta_path.remove(self)

    # -- importlib's finder protocol -----------------------------------------------------------
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] not in self._packages and not (
            self._suffixes and fullname.endswith(self._suffixes)
        ):
            return None
        return wrapped_spec(self, fullname, path, target, lambda real: _NotifyingLoader(real, self))

    def invalidate_caches(self) -> None:
        """Nothing cached here (``importlib.invalidate_caches`` asks every finder)."""

    # -- called by the loaders -----------------------------------------------------------------
    def _entered(self) -> None:
        self._depth.value = getattr(self._depth, "value", 0) + 1

    def _left(self) -> None:
        local = self._depth
        local.value -= 1
        # Not again while the callback runs: what it imports in turn is caught up with anyway.
        if local.value == 0 and self.started and not getattr(local, "notifying", False):
            local.notifying = True
            try:
                self._on_import()
            finally:
                local.notifying = False


class PatchedWhenLoaded:
    """While started, ``patch(module)`` runs once for each module of ``names`` loaded now, and
    for each the app imports later (never imported here); what each returns (an undo, or
    None) runs at :meth:`stop`, in reverse order."""

    def __init__(
        self, names: Iterable[str], patch: Callable[[ModuleType], Callable[[], None] | None]
    ) -> None:
        self._names = tuple(names)
        self._patch = patch
        self._done: set[str] = set()
        self._undo: list[Callable[[], None]] = []
        self._watch: ImportWatch | None = None

    def start(self) -> PatchedWhenLoaded:
        self._catch_up()
        missing = [name for name in self._names if name not in self._done]
        if missing:
            self._watch = ImportWatch(missing, self._catch_up).start()
        return self

    def stop(self) -> None:
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        while self._undo:
            self._undo.pop()()
        self._done.clear()

    def _catch_up(self) -> None:
        for name in self._names:
            module = sys.modules.get(name)
            if module is not None and name not in self._done:
                self._done.add(name)
                undo = self._patch(module)
                if undo is not None:
                    self._undo.append(undo)


#: The finders of this thread looking for a spec now: another one (a second injector's watch,
#: the clock's own) asks the finders after it, and must not ask those back.
_SEARCHING = threading.local()


def wrapped_spec(
    finder: object,
    fullname: str,
    path: Sequence[str] | None,
    target: ModuleType | None,
    wrap: Callable[[Any], RealLoader],
) -> ModuleSpec | None:
    """The spec the other finders give for ``fullname``, its loader wrapped by ``wrap`` (a
    :class:`RealLoader`) when it executes modules."""
    spec = _find_elsewhere(finder, fullname, path, target)
    loader = getattr(spec, "loader", None)
    if spec is None or loader is None or not hasattr(loader, "exec_module"):
        return spec
    spec.loader = wrap(loader)  # type: ignore[assignment]
    return spec


def _find_elsewhere(
    finder: object, fullname: str, path: Sequence[str] | None, target: ModuleType | None
) -> ModuleSpec | None:
    searching: list[object] = _SEARCHING.__dict__.setdefault("finders", [])
    searching.append(finder)
    try:
        for other in list(sys.meta_path):
            find = getattr(other, "find_spec", None)
            if find is None or any(other is busy for busy in searching):
                continue
            spec: ModuleSpec | None = find(fullname, path, target)
            if spec is not None:
                return spec
        return None
    finally:
        searching.pop()


class RealLoader:
    """A module's own loader, wrapped: the module runs with its real loader as ``__loader__``
    and its spec's (nothing the module or later code reads sees the wrapper); :meth:`run`
    executes it (subclasses do something around that)."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self._loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self._loader  # before the module runs
        if module.__spec__ is not None:
            module.__spec__.loader = self._loader
        self.run(module)

    def run(self, module: ModuleType) -> None:
        self._loader.exec_module(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)


class _NotifyingLoader(RealLoader):
    """The module's own loader, and a word to the watch once the module ran."""

    def __init__(self, loader: Any, watch: ImportWatch) -> None:
        super().__init__(loader)
        self._watch = watch

    def run(self, module: ModuleType) -> None:
        self._watch._entered()
        try:
            self._loader.exec_module(module)
        finally:
            self._watch._left()
