"""app_from_import: a factory for an app built at import (``app = FastAPI()`` in ``main.py``).

Such an app reads its settings once, when its module is imported, so a production build needs
the module imported again under the production environment. Doing that by hand has a trap:
modules re-imported into ``sys.modules`` stay there, and every later test silently gets the
production-built app. :func:`app_from_import` imports afresh *beside* the modules everyone
holds:

- the first development build imports the module into ``sys.modules`` under its environment
  and marks it: later builds under that environment return that same app, the one the tests'
  own ``import main`` sees. When something imported the package first (a test module's top),
  it is never imported again in place, which would leave its holders with stale references:
  the build is imported aside instead, with a :class:`StaleImportWarning`;
- a production build (inside :func:`production_build`, as the fixtures' production checks
  are) or a build under another environment (a test with its own ``hardening_dev_env``) sets
  the app's package aside in ``sys.modules``, imports it again, takes the app, and puts the
  package back: the fresh app runs on its own copies of the package's modules.
"""

from __future__ import annotations

import contextlib
import contextvars
import importlib
import os
import sys
import threading
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

from ._config import load_object, split_spec
from ._env_reads import ImportTimeReads

__all__ = ["StaleImportWarning", "app_from_import", "production_build"]

#: Builds kept per environment besides the first: enough for a test session's few distinct
#: environments; the production audit's many one-off variants only pass through.
_KEPT = 4


#: True while a production build runs (the fixtures' production checks): never the home build.
_PRODUCTION: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "pytest_hardening_production_build", default=False
)


@contextlib.contextmanager
def production_build() -> Iterator[None]:
    """Builds inside are production builds: :func:`app_from_import` imports them aside even
    when nothing imported the module yet, so that the tests' own ``import main`` never gets
    the production-built modules, whichever test runs first."""
    token = _PRODUCTION.set(True)
    try:
        yield
    finally:
        _PRODUCTION.reset(token)


def _environment() -> frozenset[tuple[str, str]]:
    # pytest's own variables change per test (PYTEST_CURRENT_TEST) and mean nothing to an app.
    return frozenset((k, v) for k, v in os.environ.items() if not k.startswith("PYTEST_"))


def _roots(module: str, packages: Iterable[str]) -> set[str]:
    return {module.partition(".")[0], *(p.partition(".")[0] for p in packages)}


def _under(name: str, roots: set[str]) -> bool:
    return name.partition(".")[0] in roots


class StaleImportWarning(UserWarning):
    """A development build got a copy of the app's package imported aside, because another
    copy was imported first (before the first development build, or under another
    environment): references taken through ``import`` are not this app's."""


#: Set on the module the first development build imported: the environment of that build.
_MARK = "__pytest_hardening_import_environment__"


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
        self._told: set[frozenset[tuple[str, str]]] = set()  # environments warned of
        self._lock = threading.Lock()
        # share (the variables the builds vary): a factory whose import read none of them
        # keeps one aside import for every build (hardening check-config --audit's many);
        # None until known, then the modules, or False.
        self._varied = frozenset(share or ())
        self._shared: dict[str, ModuleType] | bool | None = None if share is not None else False

    def __call__(self) -> Any:
        environment = _environment()
        with self._lock:
            home = sys.modules.get(self._module)
            if not _PRODUCTION.get():
                imported_under = getattr(home, _MARK, None)
                if home is not None and imported_under == environment:
                    return self._take()[0]
                if not any(_under(name, self._roots) for name in sys.modules):
                    self._import_home()  # nobody holds the package yet
                    return self._take()[0]
                if environment not in self._told:
                    self._told.add(environment)
                    self._tell_aside(imported_under, environment)
            if environment in self._aside:
                self._aside.move_to_end(environment)
                return self._aside[environment]
            app, built = self._import_aside()
            if not built:  # an app made at import: the same one for this environment
                self._aside[environment] = app
            while len(self._aside) > _KEPT:
                self._aside.popitem(last=False)
            return app

    def _import_home(self) -> None:
        """Import the package into ``sys.modules`` under this (development) environment: the
        modules everyone's ``import`` gets from now on."""
        before = _sentry_client()
        home = importlib.import_module(self._module)
        # As it is once imported: an app's import may set variables itself (Django sets TZ),
        # which the next build under the same settings then finds.
        setattr(home, _MARK, _environment())
        after = _sentry_client()
        if after is not None and after is not before:
            # sentry_sdk.init at import runs once: the client must outlive this test's guard.
            from ._sentry_guard import keep_for_the_process

            keep_for_the_process(after)

    def _tell_aside(
        self, home: frozenset[tuple[str, str]] | None, environment: frozenset[tuple[str, str]]
    ) -> None:
        """A development build whose package someone else imported (under another
        environment, or one nobody recorded: a test module's top) gets a copy imported aside,
        and the holders keep theirs: re-imported in place, their references would go stale
        (a patch by name would miss the code they call, and its request go out). Module state
        the tests reach through ``import`` (caches they reset) is then not this app's. Said
        once per environment, naming the variables (never a value) that differ."""
        if home is None:
            how = (
                "was imported before the first development build, under an environment nobody "
                "recorded (at a conftest's or a test module's top, say)"
            )
            remedy = (
                "import it inside tests and fixtures instead, so that this factory's build is "
                "its first import"
            )
        else:
            names = sorted({name for name, _ in home ^ environment})
            how = f"was first imported under another environment (differing in {', '.join(names)})"
            remedy = (
                "give both builds the same environment (a chaos HarnessSession's env, a test's "
                "own hardening_dev_env)"
            )
        warnings.warn(
            f"app_from_import: {self._module} {how}; what holds it keeps it, and this build "
            f"got its own copy, imported aside. `import {self._module}` (and what a reset "
            "fixture or a patch by name reaches through it) is the other copy, not this app's. "
            f"To share one copy, {remedy}; or reach the app's state through the app.",
            StaleImportWarning,
            stacklevel=4,
        )

    def _import_aside(self) -> tuple[Any, bool]:
        saved = {name: m for name, m in sys.modules.items() if _under(name, self._roots)}
        for name in saved:
            del sys.modules[name]
        shared = self._shared
        if isinstance(shared, dict):
            sys.modules.update(shared)  # imported once, under no variable: only the call again
        watch = ImportTimeReads(self._roots, self._varied) if shared is not False else None
        taken: tuple[Any, bool] | None = None
        try:
            with watch or contextlib.nullcontext():
                taken = self._take()
            return taken
        finally:
            mine = {n: m for n, m in sys.modules.items() if _under(n, self._roots)}
            if watch is not None:
                # An import that read the environment, or an app made at import: afresh each
                # time from now on. A refused build that read nothing changes nothing.
                if watch.seen or (taken is not None and not taken[1]):
                    self._shared = False
                elif taken is not None:
                    self._shared = mine
            for name in mine:
                del sys.modules[name]
            sys.modules.update(saved)

    def _take(self) -> tuple[Any, bool]:
        """The app of the module now in sys.modules (the home copy, or one imported aside),
        and whether it was built here: a factory (``main:create_app``, in a module that reads
        its settings at import) is called while its own modules are the ones imported."""
        from ._app import app_of

        return app_of(load_object(self.target, what="app"))

    def __repr__(self) -> str:
        return f"app_from_import({self.target!r})"


def app_from_import(target: str, *, packages: Iterable[str] = ()) -> Callable[[], Any]:
    """A factory for the app that ``target`` (``"package.module:app"``) builds at import, or
    for the app its factory builds (``"package.module:create_app"``) when the factory's
    modules read their settings at import (``settings = Settings()`` at a module's top).

    The first development build imports the module under its environment, unless something
    imported the package first (then the build is imported aside, with a
    :class:`StaleImportWarning`); later builds under the same environment return that app.
    Production builds (what
    ``prod_config``, ``route_audit`` and ``@pytest.mark.production`` build) and builds under
    any other environment import the module again, with the rest of its top-level package and
    of ``packages`` (the app's other packages that read settings at import), beside the
    modules everyone holds; this factory keeps the last few, per environment. A factory named
    by ``target`` is called for every build, in the modules imported for it. Imports made
    while the app serves a request still come from ``sys.modules``: a handler that imports a
    settings module lazily reads the development build's.
    """
    return _FromImport(target, packages)


def _sentry_client() -> Any:
    """The active global Sentry client, if Sentry is imported and initialised."""
    sdk = sys.modules.get("sentry_sdk")
    if sdk is None:
        return None
    client = sdk.get_client()
    return client if client.is_active() else None
