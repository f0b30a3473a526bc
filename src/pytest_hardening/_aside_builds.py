"""AsideBuilds: the builds an :func:`~._fresh_import.app_from_import` factory imports aside.

A build that cannot be the home import (a production build, or a development one under other
values) sets the app's package aside in ``sys.modules``, imports it again, takes the app, and
puts the package back: the fresh app runs on its own copy of the package's modules. This is
that import, and what a factory keeps of it: the last few development builds, per environment
(an app made at import is one object per import); the modules of each copy while its app is
kept or was built recently (the clock freezes them too, ``THE_APP.module`` reaches them); and,
for a factory whose import reads none of the variables its builds vary, the one import every
build shares (``hardening check-config --audit``'s many builds).
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections import OrderedDict
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from ._app_modules import flat_siblings, own_packages
from ._aside_imports import AsideImports, first_imported, put_back_copy
from ._build_modes import aside_collector, is_production_build, put_back_when_returned
from ._config import load_object
from ._env_reads import ImportTimeReads
from ._import_marks import under as _under
from ._registries import ASIDE, ImportAgainError, declared_again, refused_twice

__all__ = ["AsideBuilds", "take"]

#: Builds kept per environment besides the first: enough for a test session's few distinct
#: environments; the production audit's many one-off variants only pass through.
_KEPT = 4


class AsideBuilds:
    """The builds of ``target`` imported aside, with ``roots`` (the app's top-level packages),
    and what is kept of them. Not locked: its factory calls it under its own lock."""

    def __init__(
        self, target: str, module: str, roots: set[str], share: Iterable[str] | None
    ) -> None:
        self._target = target
        self._module = module
        self._roots = roots
        self._aside: OrderedDict[frozenset[tuple[str, str]], Any] = OrderedDict()
        # The modules of the apps imported aside (the clock freezes them too): those of the
        # apps kept above, and of the last few built (a production build's, asked for right
        # after it). Bounded: the modules hold their app, so a map from each app would hold
        # every copy ever imported, and what it registered (metrics), for the session.
        self._modules: OrderedDict[int, tuple[Any, dict[str, ModuleType]]] = OrderedDict()
        # share (the variables the builds vary): a factory whose import read none of them
        # keeps one aside import for every build (hardening check-config --audit's many);
        # None until known, then the modules, or False.
        self._varied = frozenset(share or ())
        self._flat: frozenset[str] | None = None  # see _siblings
        self._shared: dict[str, ModuleType] | bool | None = None if share is not None else False

    def kept(self, environment: frozenset[tuple[str, str]]) -> tuple[Any] | None:
        """``(app,)`` when a development build under ``environment`` is kept (now the
        freshest), else None."""
        if environment not in self._aside:
            return None
        self._aside.move_to_end(environment)
        return (self._aside[environment],)

    def keep(self, environment: frozenset[tuple[str, str]], app: Any, built: bool) -> bool:
        """Keep ``app`` for later builds under ``environment`` when it is one; whether it was
        kept."""
        # An app made at import is one object per import: the same one for this development
        # environment. A production build is always a fresh import, as in a fresh process:
        # its lifespan then never runs twice on one object.
        if built or is_production_build():
            return False
        self._aside[environment] = app
        while len(self._aside) > _KEPT:
            self._aside.popitem(last=False)
        return True

    def modules_of(self, app: Any) -> dict[str, ModuleType]:
        """The modules of ``app``'s own copy of the package, when it was imported aside (empty
        for the home build, whose modules are ``sys.modules``')."""
        held = self._modules.get(id(app))
        return dict(held[1]) if held is not None and held[0] is app else {}

    def _siblings(self) -> frozenset[str]:
        """In a flat layout (``main.py`` beside ``configuration.py``, no package), the other
        modules of ``main``'s folder, each a top-level package of its own: they go aside with
        it. Not the tests' own modules there (``test_*``, ``conftest``)."""
        if self._flat is None:
            self._flat = frozenset(flat_siblings(self._module))
        return self._flat

    def build(self, watch: ImportTimeReads | None = None) -> tuple[Any, bool]:
        """The app of a copy of the package imported aside (``watch`` watching its import),
        and whether it was built here (see :func:`take`)."""
        # The libraries that record the app's declarations for the whole process go aside
        # with it (or forget them meanwhile): the copy declares its tables again. One the copy
        # imports first goes too: left in sys.modules, it would hold the copy's tables when the
        # development build declares its own ("Table 'users' is already defined").
        roots = self._roots | self._siblings() | set(ASIDE)
        loaded: frozenset[str] | None = None
        if is_production_build():
            # As in a server process, the project's other packages are imported afresh too (a
            # settings package beside the app's): one the development build imported would
            # keep its settings, and the check would judge those (see _app_modules).
            roots |= own_packages(sys.modules)
            loaded = frozenset(sys.modules)
        saved = {name: m for name, m in sys.modules.items() if _under(name, roots)}
        for name in saved:
            del sys.modules[name]
        shared = False if watch is not None else self._shared
        if isinstance(shared, dict):
            sys.modules.update(shared)  # imported once, under no variable: only the call again
        sharing = watch is None and shared is not False
        if sharing:
            watch = ImportTimeReads(roots, self._varied)
        taken: tuple[Any, bool] | None = None
        own = AsideImports(roots)  # its imports in functions, made later, find the copy too
        try:
            with watch or contextlib.nullcontext(), declared_again(roots), own:
                taken = take(self._target)
            return taken
        except Exception as error:
            if "duplicate validator function" not in str(error):
                raise
            raise ImportAgainError(refused_twice(self._module, error)) from error
        finally:
            roots |= first_imported(loaded)
            own.include(roots)
            mine = {n: m for n, m in sys.modules.items() if _under(n, roots)}
            if sharing and watch is not None:
                # An import that read the environment, or an app made at import: afresh each
                # time from now on. A refused build that read nothing changes nothing.
                if watch.seen or (taken is not None and not taken[1]):
                    self._shared = False
                elif taken is not None:
                    self._shared = mine
            own.settle(mine)
            if taken is not None:
                self._remember(taken[0], mine)
            put_back = functools.partial(
                put_back_copy, roots, loaded, saved, mine, own, aside_collector()
            )
            # A factory that prepares the app after this build (``import app.config``) gets
            # this copy's modules, under the production environment still.
            if taken is None or not put_back_when_returned(put_back):
                put_back()

    def _remember(self, app: Any, modules: dict[str, ModuleType]) -> None:
        """Keep ``app``'s modules while it is kept (:attr:`_aside`) or one of the last built."""
        self._modules[id(app)] = (app, modules)
        kept = {id(a) for a in self._aside.values()}
        recent = [key for key in self._modules if key not in kept]
        for key in recent[: max(0, len(recent) - _KEPT)]:
            del self._modules[key]


def take(target: str) -> tuple[Any, bool]:
    """The app of the module now in sys.modules (the home copy, or one imported aside), and
    whether it was built here: a factory (``main:create_app``, in a module that reads its
    settings at import) is called while its own modules are the ones imported."""
    from ._app import app_of

    return app_of(load_object(target, what="app"))
