"""Production builds from a fresh import, as a server process makes them.

Apps often read their settings when a module is imported (``settings = Settings()`` at a
module's top, ``if SECRET_KEY == "changethis": raise`` in ``config.py``). A plain factory's
production build in a test session calls the factory on the modules some development test
imported first: a check made at import ran under the development environment, and a
configuration a server refuses looks accepted. :class:`FreshBuild` imports the factory's package
(and the top-level modules beside it) again under the environment being checked, beside the
modules everyone holds (:mod:`._fresh_import`); ``hardening check-config`` builds every app so,
and the ``prod_config`` fixture asks it for a second opinion on what a plain factory accepted.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any, TypeVar

from ._app_modules import beside
from ._build_modes import production_build
from ._config import split_spec
from ._env_reads import ImportTimeReads
from ._fresh_import import _FromImport

T = TypeVar("T")

__all__ = ["FreshBuild", "FreshBuilds", "beside", "fresh_factory", "import_spec", "made_afresh"]


class FreshBuild:
    """The app of ``spec`` (a factory, or an app made at import), imported afresh for each
    build.

    With ``varied`` (the variables the builds change), a factory whose first import read none
    of them keeps that import, and only the factory runs again (see _env_reads). With
    ``learn``, the first build notes what the import read (:meth:`reads`), refused or not."""

    def __init__(
        self, spec: str, *, varied: Iterable[str] | None = None, learn: bool = False
    ) -> None:
        parts = split_spec(spec)
        if parts is None:
            raise ValueError(f"a factory looks like 'package.module:attribute', not {spec!r}")
        self.spec = spec
        self.__module__ = parts[0]  # where the app may declare its optional variables
        self._fresh = _FromImport(spec, beside(parts[0]), share=varied)
        self._watch = learn
        self._read: frozenset[str] | None = None  # what the first import read; None: unknown
        self._whole = False

    def __call__(self) -> Any:
        with production_build():
            if not self._watch or self._read is not None:
                return self._fresh()
            watch = ImportTimeReads(self._fresh._roots)
            try:
                with watch:
                    return self._fresh()
            finally:
                self._read, self._whole = frozenset(watch.read), watch.whole

    def modules_of(self, app: Any) -> dict[str, ModuleType]:
        """The modules of ``app``'s copy of the package (a build of this factory)."""
        return self._fresh.modules_of(app)

    def reads(self, varied: Iterable[str]) -> bool | None:
        """Whether the app's import reads one of ``varied`` (None: not imported yet)."""
        if self._read is None:
            return None
        return self._whole or not self._read.isdisjoint(varied)

    def __repr__(self) -> str:
        return f"FreshBuild({self.spec!r})"


class FreshBuilds:
    """The fresh builds of a test session's production checks, one per factory: each imports
    the app's package once more, to learn what its import reads, and again for each check
    while that import reads one of the variables checked."""

    def __init__(self) -> None:
        self._builds: dict[str, FreshBuild] = {}

    def second_opinion(self, factory: Any, varied: Iterable[str]) -> FreshBuild | None:
        """The fresh build that can tell whether what ``factory`` built on the modules already
        imported is what a server process would build; None when it cannot differ (a factory
        that imports afresh already, an import that reads none of ``varied``) or cannot be
        reached by name."""
        if isinstance(factory, FreshBuild) or hasattr(factory, "modules_of"):
            return None
        spec = import_spec(factory)
        if spec is None:
            return None
        build = self._builds.get(spec)
        if build is None:
            build = self._builds[spec] = FreshBuild(spec, learn=True)
        return None if build.reads(varied) is False else build


def made_afresh(
    builds: FreshBuilds, factory: Any, varied: Iterable[str], make: Callable[[FreshBuild], T]
) -> tuple[bool, T | None]:
    """(True, what ``make`` made of the fresh build of ``factory``, or its error raised) while
    the app's import reads one of ``varied``; (False, None) when it reads none of them, or the
    factory imports afresh already, or cannot be imported by name: the modules imported
    already are then a server's too, and the caller builds on them."""
    varied = frozenset(varied)
    fresh = builds.second_opinion(factory, varied)
    if fresh is None:
        return False, None
    try:
        made = make(fresh)
    except Exception:
        if not fresh.reads(varied):
            return False, None
        raise
    return (True, made) if fresh.reads(varied) else (False, None)


def fresh_factory(spec: str, *, varied: Iterable[str] | None = None) -> FreshBuild:
    """A :class:`FreshBuild`, refusing a spec whose top-level package cannot be found (looked
    for, not imported: not under the environment of the moment)."""
    build = FreshBuild(spec, varied=varied)
    top = build.__module__.partition(".")[0]
    if importlib.util.find_spec(top) is None:
        raise ModuleNotFoundError(f"{spec}: no module named {top!r}", name=top)
    return build


def import_spec(factory: Any) -> str | None:
    """``module:name`` for a factory defined at the top of an importable module of the app,
    which a fresh import can reach by name; None for anything else (a lambda or closure, a
    conftest's or a test module's function, ``__main__``, an app made at import)."""
    module = getattr(factory, "__module__", None)
    name = getattr(factory, "__qualname__", None)
    if not isinstance(module, str) or not isinstance(name, str) or "<" in name:
        return None
    leaf = module.rpartition(".")[2]
    if module == "__main__" or leaf == "conftest" or leaf.startswith("test_"):
        return None
    if module.partition(".")[0] in ("pytest_hardening", "_pytest", "pytest"):
        return None
    owner: Any = sys.modules.get(module)
    for part in name.split("."):
        owner = getattr(owner, part, None)
    return f"{module}:{name}" if owner is factory else None
