"""app_from_import: a factory for an app built at import (``app = FastAPI()`` in ``main.py``).

Such an app reads its settings once, when its module is imported, so a production build needs
the module imported again under the production environment. Doing that by hand has a trap:
modules re-imported into ``sys.modules`` stay there, and every later test silently gets the
production-built app. :func:`app_from_import` imports afresh *beside* the modules everyone
holds:

- the first development build imports the module into ``sys.modules``, watching what its
  modules read of the environment while imported (:class:`~._env_reads.ImportTimeReads`), and
  marks it: later builds whose environment gives those variables the same values return that
  same app, the one the tests' own ``import main`` sees. When something imported the package
  first (a test module's top), it is never imported again in place, which would leave its
  holders with stale references: if its import reads no variable, theirs is the app; else the
  build is imported aside, with a :class:`StaleImportWarning`;
- a production build (inside :func:`production_build`, as the fixtures' production checks
  are; a fresh import every time) or a build under other values (a test with its own
  ``hardening_dev_env``) sets the app's package aside in ``sys.modules``, imports it again,
  takes the app, and puts the package back: the fresh app runs on its own copies of the
  package's modules. A production build takes the project's other packages along (see
  :func:`~._app_modules.own_packages`), and puts them back only when the factory that asked
  for it returns: what that factory imports meanwhile is the copy's too.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

from ._app_modules import flat_siblings, own_packages
from ._aside_imports import AsideImports, first_imported, put_back_copy
from ._build_modes import aside_collector, is_production_build, put_back_when_returned
from ._config import load_object, split_spec
from ._env_reads import ImportTimeReads
from ._import_marks import MARK as _MARK
from ._import_marks import PYTESTS as _PYTESTS
from ._import_marks import AppImportFailed, StaleImportWarning, tell_sentry_late
from ._import_marks import Imported as _Imported
from ._import_marks import environment as _environment
from ._import_marks import held as _held
from ._import_marks import held_mark as _held_mark
from ._import_marks import named as _named
from ._import_marks import roots as _roots
from ._import_marks import tell_aside as _tell_aside
from ._import_marks import under as _under
from ._registries import ASIDE, ImportAgainError, declared_again, refused_twice

__all__ = ["StaleImportWarning", "app_from_import"]

#: Builds kept per environment besides the first: enough for a test session's few distinct
#: environments; the production audit's many one-off variants only pass through.
_KEPT = 4


class _FromImport:
    """The factory :func:`app_from_import` returns."""

    def __init__(
        self, target: str, packages: Iterable[str], *, share: Iterable[str] | None = None
    ) -> None:
        parts = split_spec(target)
        if parts is None:
            raise ValueError(f"app_from_import needs 'package.module:app', not {target!r}")
        self.target = target
        self._module = parts[0]
        self._roots = _roots(self._module, packages)
        self._aside: OrderedDict[frozenset[tuple[str, str]], Any] = OrderedDict()
        # The modules of the apps imported aside (the clock freezes them too): those of the
        # apps kept above, and of the last few built (a production build's, asked for right
        # after it). Bounded: the modules hold their app, so a map from each app would hold
        # every copy ever imported, and what it registered (metrics), for the session.
        self._modules: OrderedDict[int, tuple[Any, dict[str, ModuleType]]] = OrderedDict()
        self._told: set[frozenset[tuple[str, str]]] = set()  # environments warned of
        # The environment when this factory was made (a conftest's import): the one the test
        # modules that import the package at their top are imported under too.
        self._created = dict(_environment())
        self._lock = threading.Lock()
        # share (the variables the builds vary): a factory whose import read none of them
        # keeps one aside import for every build (hardening check-config --audit's many);
        # None until known, then the modules, or False.
        self._varied = frozenset(share or ())
        self._flat: frozenset[str] | None = None  # see _siblings
        self._shared: dict[str, ModuleType] | bool | None = None if share is not None else False
        # Environments whose import into sys.modules failed, and how: not tried again.
        self._failed: dict[frozenset[tuple[str, str]], BaseException] = {}

    @property
    def app_packages(self) -> frozenset[str]:
        """The app's top-level packages, known before any build (its settings getters are
        searched there: see _cached_getters)."""
        return frozenset(self._roots)

    def __call__(self) -> Any:
        app = self._build()
        found = aside_collector()
        if found is not None:
            found.update(self.modules_of(app))
        return app

    def _build(self) -> Any:
        environment = _environment()
        with self._lock:
            if not is_production_build():
                home = sys.modules.get(self._module)
                mark = getattr(home, _MARK, None)
                if isinstance(mark, _Imported) and not mark.differing(dict(environment)):
                    return self._take()[0]
                held = _held(self._roots)
                if not held:
                    self._import_home()  # nobody holds the package yet
                    return self._take()[0]
                # Another app_from_import factory's import of the package (a factory of the
                # tests' own around the app's), which says what it read.
                other = None if isinstance(mark, _Imported) else _held_mark(held)
                if other is not None and not other.differing(dict(environment)):
                    before = _sentry_client()
                    self._import_home(held_reads=other.read)  # under these values: theirs
                    if _sentry_client() is not before:
                        tell_sentry_late(self.target, _named(held))
                    return self._take()[0]
                if other is not None and environment not in self._told:
                    self._told.add(environment)
                    _tell_aside(_named(held), other.differing(dict(environment)))
                elif not isinstance(mark, _Imported) and environment not in self._told:
                    # Imported by someone else first (a test module's top): when the package's
                    # import reads no variable, what they hold is this build's app too.
                    app = self._foreign(held, environment)
                    if app is not None:
                        return app
                elif environment not in self._told and isinstance(mark, _Imported):
                    self._told.add(environment)
                    _tell_aside(self._module, mark.differing(dict(environment)))
            if environment in self._aside:
                self._aside.move_to_end(environment)
                return self._aside[environment]
            app, built, sentry = self._import_kept_aside()
            self._keep(environment, app, built, sentry)
            return app

    def _keep(
        self, environment: frozenset[tuple[str, str]], app: Any, built: bool, sentry: Any
    ) -> None:
        # An app made at import is one object per import: the same one for this development
        # environment. A production build is always a fresh import, as in a fresh process:
        # its lifespan then never runs twice on one object.
        if not built and not is_production_build():
            self._aside[environment] = app
            while len(self._aside) > _KEPT:
                self._aside.popitem(last=False)
            _keep_sentry_of_import(sentry)

    def _import_kept_aside(self, watch: ImportTimeReads | None = None) -> tuple[Any, bool, Any]:
        """:meth:`_import_aside`, and the Sentry client its import initialised, if any."""
        before = _sentry_client()
        app, built = self._import_aside(watch)
        after = _sentry_client()
        return app, built, after if after is not before else None

    def _foreign(self, held: list[str], environment: frozenset[tuple[str, str]]) -> Any:
        """The app, when the package someone imported first can be this build's: its import
        (tried aside, watched) reads no variable, or reads only variables whose values are
        those of when this factory was made (a conftest's import, beside the test modules'
        that imported the package: a library's own switch, FastAPI's OTEL_..., pydantic's
        PYDANTIC_DISABLE_PLUGINS), so theirs is the same. Otherwise the aside copy is this
        environment's, said once."""
        self._told.add(environment)
        watch = ImportTimeReads(self._roots)
        app, built, sentry = self._import_kept_aside(watch)
        changed = sorted(
            n
            for n, v in watch.read.items()
            if self._created.get(n) != v and not n.startswith(_PYTESTS)
        )
        if not watch.whole and not changed:
            read = dict(watch.read)
            self._import_home(_Imported(read, False, self._created, self._created))
            return self._take()[0]
        # What they hold (``from app.errors import ApiError``) may read nothing the build
        # changes, and the modules that do (the app's main, its settings) nobody holds yet:
        # those are imported in place under this build's environment, beside what is held.
        holding = set(held)
        if not watch.whole_in & holding and not any(
            watch.readers.get(n, set()) & holding for n in changed
        ):
            kept = {
                n: self._created.get(n) for n, readers in watch.readers.items() if readers & holding
            }
            self._import_home(held_reads=kept)
            return self._take()[0]
        self._keep(environment, app, built, sentry)
        _tell_aside(_named(held), changed, first=True)
        return app

    def _import_home(
        self, imported: _Imported | None = None, held_reads: Mapping[str, str | None] | None = None
    ) -> None:
        """Import the package into ``sys.modules`` under this (development) environment: the
        modules everyone's ``import`` gets from now on, marked with what the import read (or
        with ``imported``: what an import of someone else's read, watched aside), and with
        ``held_reads``, what the modules someone holds already read at theirs."""
        before = _sentry_client()
        key = _environment()
        failed = self._failed.get(key)
        if failed is not None:
            raise AppImportFailed(
                f"importing {self._module} failed in an earlier test under the same "
                f"environment, and is not tried again: {type(failed).__name__}: {failed} (a "
                "second import would fail differently, on what the first declared, such as "
                "SQLModel's tables; the first test's error has the traceback)"
            ) from failed
        environment = dict(key)
        loaded = set(sys.modules)
        try:
            with ImportTimeReads(self._roots) as watch:
                home = importlib.import_module(self._module)
        except BaseException as error:
            # A refused import leaves the modules it got through (Python takes out only the
            # one that raised): the next build would take that half of the package for
            # someone else's import. It is taken out, as it was before, and so is a library
            # of declarations it imported first (SQLModel's tables of that half).
            roots = self._roots | set(ASIDE)
            for name in [n for n in sys.modules if n not in loaded and _under(n, roots)]:
                del sys.modules[name]
            if isinstance(error, (Exception, SystemExit)):  # not an interrupt
                self._failed[key] = error
            raise
        if imported is None:
            read = {**(held_reads or {}), **watch.read}
            imported = _Imported(read, watch.whole, environment, dict(_environment()))
        setattr(home, _MARK, imported)
        after = _sentry_client()
        _keep_sentry_of_import(after if after is not before else None)

    def _siblings(self) -> frozenset[str]:
        """In a flat layout (``main.py`` beside ``configuration.py``, no package), the other
        modules of ``main``'s folder, each a top-level package of its own: they go aside with
        it. Not the tests' own modules there (``test_*``, ``conftest``)."""
        if self._flat is None:
            self._flat = frozenset(flat_siblings(self._module))
        return self._flat

    def _import_aside(self, watch: ImportTimeReads | None = None) -> tuple[Any, bool]:
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
                taken = self._take()
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

    def modules_of(self, app: Any) -> dict[str, ModuleType]:
        """The modules of ``app``'s own copy of the package, when it was imported aside (empty
        for the home build, whose modules are ``sys.modules``')."""
        held = self._modules.get(id(app))
        return dict(held[1]) if held is not None and held[0] is app else {}

    def module(self, name: str, app: Any) -> ModuleType:
        """The module ``name`` of the package as ``app`` (a build of this factory) runs it:
        its copy's, when the build was imported aside, else ``sys.modules``' (imported if
        need be). What a factory of the project's own that calls this one reaches to prepare
        the app (a client to stand in for, a worker to stop), in either case."""
        copy = self.modules_of(app).get(name)
        return copy if copy is not None else importlib.import_module(name)

    def _remember(self, app: Any, modules: dict[str, ModuleType]) -> None:
        """Keep ``app``'s modules while it is kept (:attr:`_aside`) or one of the last built."""
        self._modules[id(app)] = (app, modules)
        kept = {id(a) for a in self._aside.values()}
        recent = [key for key in self._modules if key not in kept]
        for key in recent[: max(0, len(recent) - _KEPT)]:
            del self._modules[key]

    def _take(self) -> tuple[Any, bool]:
        """The app of the module now in sys.modules (the home copy, or one imported aside),
        and whether it was built here: a factory (``main:create_app``, in a module that reads
        its settings at import) is called while its own modules are the ones imported."""
        from ._app import app_of

        return app_of(load_object(self.target, what="app"))

    def __repr__(self) -> str:
        return f"app_from_import({self.target!r})"


def app_from_import(target: str, *, packages: Iterable[str] = ()) -> _FromImport:
    """A factory for the app that ``target`` (``"package.module:app"``) builds at import, or
    for the app its factory builds (``"package.module:create_app"``) when the factory's
    modules read their settings at import (``settings = Settings()`` at a module's top).

    The first development build imports the module, noting the variables its import reads;
    later builds that give those the same values return that app. A package something
    imported first stays theirs: it is the app when its import reads no variable, else the
    build is imported aside, with a :class:`StaleImportWarning`. Production builds (what
    ``prod_config``, ``route_audit`` and ``@pytest.mark.production`` build; afresh every time)
    and development builds under other values import the module again, with the rest of its
    top-level package and of ``packages`` (the app's other packages that read settings at
    import), beside the modules everyone holds; this factory keeps the last few development
    ones, per environment. A production build also imports again the project's other
    packages it reaches (outside the installed packages and the standard library, the tests'
    own left out), and what a factory around this one imports after it, before it returns,
    is that build's copy too. A factory named
    by ``target`` is called for every build, in the modules imported for it. An import made
    in one of its functions later (while the app serves a request) finds that copy's modules
    too; a module of the package that the copy never imported comes from ``sys.modules``
    (the development build's), as does one imported through ``importlib.import_module``.
    """
    return _FromImport(target, packages)


def _keep_sentry_of_import(client: Any) -> None:
    """``sentry_sdk.init`` at the import of an app kept for later builds (the home import, or a
    copy aside kept for its environment) runs once: its client must outlive this test's guard,
    or every later test of that app captures nothing."""
    if client is not None:
        from ._sentry_guard import keep_for_the_process

        keep_for_the_process(client)


def _sentry_client() -> Any:
    """The active global Sentry client, if Sentry is imported and initialised."""
    sdk = sys.modules.get("sentry_sdk")
    if sdk is None:
        return None
    client = sdk.get_client()
    return client if client.is_active() else None
