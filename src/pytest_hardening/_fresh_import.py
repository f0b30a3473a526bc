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
  package's modules (:class:`~._aside_builds.AsideBuilds`). A production build takes the
  project's other packages along (see :func:`~._app_modules.own_packages`), and puts them
  back only when the factory that asked for it returns: what that factory imports meanwhile
  is the copy's too.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Iterable, Mapping
from types import ModuleType
from typing import Any

from ._aside_builds import AsideBuilds, take
from ._build_modes import aside_collector, is_production_build
from ._config import split_spec
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
from ._import_metrics import ImportMetrics
from ._registries import ASIDE

__all__ = ["StaleImportWarning", "app_from_import"]


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
        self._builds = AsideBuilds(target, self._module, self._roots, share)
        self._told: set[frozenset[tuple[str, str]]] = set()  # environments warned of
        # The environment when this factory was made (a conftest's import): the one the test
        # modules that import the package at their top are imported under too.
        self._created = dict(_environment())
        self._lock = threading.Lock()
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
                    return take(self.target)[0]
                held = _held(self._roots)
                if not held:
                    return self._import_home()  # nobody holds the package yet
                # Another app_from_import factory's import of the package (a factory of the
                # tests' own around the app's), which says what it read.
                other = None if isinstance(mark, _Imported) else _held_mark(held)
                if other is not None and not other.differing(dict(environment)):
                    before = _sentry_client()
                    app = self._import_home(held_reads=other.read)  # under their values
                    if _sentry_client() is not before:
                        tell_sentry_late(self.target, _named(held))
                    return app
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
            kept = self._builds.kept(environment)
            if kept is not None:
                return kept[0]
            app, built, sentry = self._import_kept_aside()
            self._keep(environment, app, built, sentry)
            return app

    def _keep(
        self, environment: frozenset[tuple[str, str]], app: Any, built: bool, sentry: Any
    ) -> None:
        # A build kept for later tests keeps the Sentry client its import initialised.
        if self._builds.keep(environment, app, built):
            _keep_sentry_of_import(sentry)

    def _import_kept_aside(self, watch: ImportTimeReads | None = None) -> tuple[Any, bool, Any]:
        """A build imported aside (:meth:`.AsideBuilds.build`), and the Sentry client its
        import initialised, if any."""
        before = _sentry_client()
        app, built = self._builds.build(watch)
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
            return self._import_home(_Imported(read, False, self._created, self._created))
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
            return self._import_home(held_reads=kept)
        self._keep(environment, app, built, sentry)
        _tell_aside(_named(held), changed, first=True)
        return app

    def _import_home(
        self, imported: _Imported | None = None, held_reads: Mapping[str, str | None] | None = None
    ) -> Any:
        """Import the package into ``sys.modules`` under this (development) environment: the
        modules everyone's ``import`` gets from now on, marked with what the import read (or
        with ``imported``: what an import of someone else's read, watched aside), and with
        ``held_reads``, what the modules someone holds already read at theirs; then build the
        app. What that first build's imports read counts too: a factory of the tests' own
        that imports the app inside it (``from myapp.main import app``) imports the package
        only then."""
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
        metrics = ImportMetrics().start()
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
            # A metric name someone held before the import (a production copy's): the
            # process's state, not the app's failure under this environment; tried again.
            earlier = metrics.failed(error)
            if isinstance(error, (Exception, SystemExit)) and not earlier:  # not an interrupt
                self._failed[key] = error
            raise
        finally:
            metrics.stop()
        if imported is None:
            read = {**(held_reads or {}), **watch.read}
            imported = _Imported(read, watch.whole, environment, dict(_environment()))
        setattr(home, _MARK, imported)
        after = _sentry_client()
        _keep_sentry_of_import(after if after is not before else None)
        with ImportTimeReads(self._roots) as first:
            app = take(self.target)[0]
        if first.read or first.whole:
            setattr(
                home,
                _MARK,
                _Imported(
                    {**first.read, **imported.read},
                    imported.whole or first.whole,
                    imported.before,
                    dict(_environment()) if first.whole else imported.after,
                ),
            )
        return app

    def modules_of(self, app: Any) -> dict[str, ModuleType]:
        """The modules of ``app``'s own copy of the package, when it was imported aside (empty
        for the home build, whose modules are ``sys.modules``')."""
        return self._builds.modules_of(app)

    def module(self, name: str, app: Any) -> ModuleType:
        """The module ``name`` of the package as ``app`` (a build of this factory) runs it:
        its copy's, when the build was imported aside, else ``sys.modules``' (imported if
        need be). What a factory of the project's own that calls this one reaches to prepare
        the app (a client to stand in for, a worker to stop), in either case."""
        copy = self.modules_of(app).get(name)
        return copy if copy is not None else importlib.import_module(name)

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
