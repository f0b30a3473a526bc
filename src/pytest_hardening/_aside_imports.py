"""AsideImports: a copy of the app imported aside imports its own modules, even later.

A production build imports the app's package again beside the modules everyone holds (see
:mod:`._fresh_import`), then puts the tests' copy back in ``sys.modules``. An import made inside
a function when the copy serves a request (``from .errors import ApiError`` in a key check)
then found the tests' copy: the class it caught was not the one the copy raised, and a
production build answered 500 where the app answers 401, which a route audit read as a route
still reachable. While an :class:`AsideImports` is entered, the modules of ``roots`` that are
imported get builtins of their own whose ``__import__`` (what ``import`` statements call, at a
module's top and in its functions alike) resolves names of ``roots`` to this copy's modules
once :meth:`settle` named them; anything else, and a module the copy never imported, goes to
the real ``__import__`` as before.
"""

from __future__ import annotations

import builtins
import importlib
import sys
from collections.abc import Iterable, Mapping, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType, TracebackType
from typing import Any

from ._app_modules import own_packages
from ._import_watch import RealLoader, wrapped_spec

__all__ = ["AsideImports", "first_imported", "put_back_copy"]


class AsideImports:
    """A finder, first on ``sys.meta_path`` while entered (see the module)."""

    def __init__(self, roots: Iterable[str]) -> None:
        self._roots = frozenset(roots)
        self._copies: dict[str, ModuleType] = {}
        self._late = False  # importing a module of the copy's first needed later
        real = builtins.__import__

        def __import__(
            name: str,
            globals: Mapping[str, Any] | None = None,
            locals: Mapping[str, Any] | None = None,
            fromlist: Sequence[str] | None = (),
            level: int = 0,
        ) -> ModuleType:
            found = self._resolve(name, globals, fromlist, level)
            return found if found is not None else real(name, globals, locals, fromlist, level)

        self._builtins = {**builtins.__dict__, "__import__": __import__}

    def _import_late(self, name: str) -> ModuleType | None:
        """A module of ``roots`` the copy never imported, first imported later (a startup's
        ``import app.db`` inside its lifespan): imported now as the copy's own, among the copy's
        modules and under the environment of now (a production boot's), not taken from the
        tests' copy in ``sys.modules``, which was made under another."""
        saved = {n: m for n, m in sys.modules.items() if n.partition(".")[0] in self._roots}
        for n in saved:
            del sys.modules[n]
        sys.modules.update(self._copies)
        self._late = True
        try:
            with self:
                importlib.import_module(name)
        except ImportError:
            return None  # the real import says why, as it would have
        finally:
            self._late = False
            mine = {n: m for n, m in sys.modules.items() if n.partition(".")[0] in self._roots}
            for n in mine:
                del sys.modules[n]
            sys.modules.update(saved)
            self._copies.update(mine)
        return self._copies.get(name)

    def include(self, roots: Iterable[str]) -> None:
        """Resolve these top-level packages too (a production copy's first import of one of
        the project's packages, known once the copy is imported)."""
        self._roots = self._roots | frozenset(roots)

    def settle(self, modules: Mapping[str, ModuleType]) -> None:
        """The copy's modules, by name: what its imports resolve to from now on."""
        self._copies.update(modules)

    def _resolve(
        self,
        name: str,
        globals: Mapping[str, Any] | None,
        fromlist: Sequence[str] | None,
        level: int,
    ) -> ModuleType | None:
        copies = self._copies
        if not copies:  # still importing: sys.modules holds the copy itself
            return None
        absolute = name
        if level:
            package = (globals or {}).get("__package__") or ""
            parts = package.rsplit(".", level - 1)
            if not package or len(parts) < level:
                return None  # beyond the top: the real import says so
            absolute = f"{parts[0]}.{name}" if name else parts[0]
        if absolute.partition(".")[0] not in self._roots:
            return None
        module = copies.get(absolute)
        if module is None and not self._late:
            module = self._import_late(absolute)
        if module is None:
            return None
        if fromlist:
            # `from .x import y`: y may be a submodule the copy never imported: its own too.
            for item in fromlist:
                if item != "*" and not hasattr(module, item) and not self._late:
                    self._import_late(f"{absolute}.{item}")
            if all(item == "*" or hasattr(module, item) for item in fromlist):
                return module
            return None
        return copies.get(absolute.partition(".")[0]) if not level else module

    def __enter__(self) -> AsideImports:
        sys.meta_path.insert(0, self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        while self in sys.meta_path:
            sys.meta_path.remove(self)

    # -- importlib's finder protocol -----------------------------------------------------------
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname.partition(".")[0] not in self._roots:
            return None
        return wrapped_spec(
            self, fullname, path, target, lambda real: _OwnBuiltins(real, self._builtins)
        )

    def invalidate_caches(self) -> None:
        """Nothing cached here (``importlib.invalidate_caches`` asks every finder)."""


class _OwnBuiltins(RealLoader):
    """The module's own loader; the module runs with the copy's builtins (its functions take
    theirs from its namespace when they are made)."""

    def __init__(self, loader: Any, own: dict[str, Any]) -> None:
        super().__init__(loader)
        self._own = own

    def run(self, module: ModuleType) -> None:
        module.__dict__["__builtins__"] = self._own
        self._loader.exec_module(module)


def first_imported(loaded: frozenset[str] | None) -> set[str]:
    """The project's own top-level packages first imported since ``loaded`` was taken (by a
    production copy, or by the factory that prepares it): the copy's, not the tests'."""
    if loaded is None:
        return set()
    return own_packages(sys.modules, [name for name in sys.modules if name not in loaded])


def put_back_copy(
    roots: set[str],
    loaded: frozenset[str] | None,
    saved: dict[str, ModuleType],
    mine: dict[str, ModuleType],
    own: AsideImports,
    found: dict[str, ModuleType] | None,
) -> None:
    """The tests' modules back in ``sys.modules`` in place of a copy imported aside; what the
    factory imported of the copy's packages after building it is the copy's too."""
    roots = roots | first_imported(loaded)
    own.include(roots)
    late = {n: m for n, m in sys.modules.items() if n.partition(".")[0] in roots and n not in mine}
    mine.update(late)
    own.settle(late)
    if found is not None:
        found.update(late)
    for name in [n for n in sys.modules if n.partition(".")[0] in roots]:
        del sys.modules[name]
    sys.modules.update(saved)
