"""ProductionBuilds: the app built (and started) from a production env, as production makes
it, under the check's guards: Sentry in memory, connections off this machine refused."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ._app import app_env, build_app
from ._build_modes import aside_modules, production_build
from ._cached_getters import CachedGetters
from ._config import AppFactory, NotConfigured
from ._dotenv_files import dotenv_setters
from ._env_reads import EnvAccess, replaced
from ._fresh_builds import FreshBuild, FreshBuilds, made_afresh
from ._network import NetworkGuard
from ._prometheus_scope import metrics_owned_by
from ._registries import ImportAgainError
from ._sentry import SentryCapture
from ._sentry_guard import SentryGuard
from ._stops import connecting

__all__ = ["ProductionBuilds"]


class ProductionBuilds:
    """Builds (and boots) of the app from ``prod_env`` with overrides, as production makes
    them, under the check's guards: what the production checks make, apart from what
    they assert of it."""

    def __init__(
        self,
        factory: AppFactory,
        prod_env: Mapping[str, str],
        *,
        clear: Iterable[str] = (),
        startup: bool = True,
        fresh: FreshBuilds | None = None,
    ) -> None:
        if isinstance(prod_env, NotConfigured):
            prod_env.require()
        self.factory = factory
        self.prod_env = dict(prod_env)
        self.clear = set(clear) | set(prod_env)
        #: What the builds sent to Sentry (e.g. each refused build's report), kept in memory.
        self.sentry = SentryCapture()
        self._getters = CachedGetters(factory)  # searched once for all the builds
        #: Whether the assertions and the audit run the lifespan's startup (:meth:`boot`) or
        #: only build (``hardening check-config``: nothing started on an operator's machine).
        self.startup = startup
        #: Where the latest boot's startup stopped, having got past its validation: at a
        #: connection (see :meth:`boot`); None when it started, or was not booted.
        self.stopped_at: str | None = None
        #: The connections the latest build or boot tried, refused by the check, when it
        #: went on all the same (a startup that registers with a tunnel or a service, and
        #: logs the refusal): ``host:port``, how, and the client; empty when none.
        self.reached: list[str] = []
        #: The connections the check refused during the latest build or boot, when it then
        #: failed with an error that did not come of them (a client library that caught the
        #: refusal and raised its own: google.auth.default() and the metadata server): the
        #: check cannot tell that failure from a refusal of the configuration
        #: (:mod:`._guard_failures`); empty otherwise.
        self.failed_after: list[str] = []
        #: The connections the last build or boot made on this machine (``host:port``): a
        #: server the env names on loopback, or the app's own default where none is named.
        self.local: list[str] = []
        #: Where a plain factory's checks import the app afresh (a session's, shared).
        self._fresh = fresh if fresh is not None else FreshBuilds()
        #: Whether the latest build imported a copy of the app aside (app_from_import).
        self._imported_aside = False
        #: What the latest build's own load_dotenv() set (see _outcome).
        self._loaded: dict[str, str] = {}

    def env(self, **overrides: str | None) -> dict[str, str]:
        env = dict(self.prod_env)
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = str(value)
        return env

    def build(self, **overrides: str | None) -> Any:
        """Build the app from the production env with ``overrides`` (None drops a variable).

        The build runs under a :class:`SentryGuard`: what a Sentry client created meanwhile
        sends (a refused build's report too) goes to :attr:`sentry`, never to the DSN; a client
        the app initialises is closed and the caller's global client and scopes are restored,
        whatever the outcome. It also runs under a :class:`NetworkGuard`: a factory that
        connects while it builds (a database ping, a remote config) is refused, and the
        refusal names the host, instead of reaching a production host from a test.

        A plain factory called on the modules a development test imported would keep what
        they made at import under the development environment (``settings = Settings()``, a
        check of ``SECRET_KEY`` at a module's top): while the app's import may read one of the
        variables checked, the build is made from a fresh import instead, as a server process
        makes it (:class:`~._fresh_builds.FreshBuilds`).
        """
        self.stopped_at, self.reached, self.local, self.failed_after = None, [], [], []
        made, app = self._made_afresh(lambda checker: checker.build(**overrides), overrides)
        if made:
            return app
        build = functools.partial(
            build_app,
            self.factory,
            self.env(**overrides),
            clear=self.clear | set(overrides),
            getters=self._getters,
        )
        with self._guarded(build) as (network, app):
            self.reached = [line.strip() for line in network.refused(faults=False)]
            return app

    def boot(self, **overrides: str | None) -> Any:
        """:meth:`build`, then the app's lifespan startup and shutdown, as a server boots it:
        an app that validates its settings at startup (a FastAPI lifespan) refuses there. A
        startup that failed only on connecting (a database ping: to a host the guard refuses,
        or on this machine where nothing listens) got past its validation, and counts as
        booted; :attr:`stopped_at` then says where it stopped (else None). Made from a fresh
        import as :meth:`build` is."""
        from ._lifespan import running_lifespan

        self.stopped_at, self.reached, self.local, self.failed_after = None, [], [], []
        made, app = self._made_afresh(lambda checker: checker.boot(**overrides), overrides)
        if made:
            return app
        # A fresh build's, if it was only asked what its import reads.
        self.stopped_at, self.reached, self.local, self.failed_after = None, [], [], []
        env = self.env(**overrides)
        clear = self.clear | set(overrides)
        left: dict[str, str] = {}  # what the factory set (a .env it loads) the startup sees
        build = functools.partial(
            build_app, self.factory, env, clear=clear, getters=self._getters, left=left
        )
        with self._guarded(build) as (network, app):
            with app_env(self.factory, left or env, clear=clear, getters=self._getters):
                try:
                    with running_lifespan(app):
                        pass
                except Exception as error:
                    self.stopped_at, self.reached = connecting(network, error, "startup")
                    if self.stopped_at is None:
                        raise
            if self.stopped_at is None:
                self.reached = [line.strip() for line in network.refused(faults=False)]
        return app

    @contextlib.contextmanager
    def _guarded(self, build: Callable[[], Any]) -> Iterator[tuple[NetworkGuard, Any]]:
        """``build()`` made as production makes it, under the check's guards: what it sends to
        Sentry stays in memory, connections off this machine are refused; :attr:`local` gets
        those it made on this machine, whatever the outcome."""
        with SentryGuard(self.sentry), NetworkGuard() as network, EnvAccess() as access:
            try:
                with (
                    production_build(),
                    aside_modules() as aside,
                    self._stopped_connecting(network, "build"),
                    metrics_owned_by(build) as app,
                ):
                    # A copy imported aside (app_from_import, however deep a factory calls
                    # it): the import ran under the production env.
                    self._imported_aside = bool(aside)
                    yield network, app
            finally:
                self.local = network.local
                self._loaded = dict(access.loaded)

    @contextlib.contextmanager
    def _stopped_connecting(self, network: NetworkGuard, phase: str) -> Iterator[None]:
        """A ``phase`` that failed only on connecting (an import that pings its database) got
        past what the app validates before it: :attr:`stopped_at` says where, and the error
        goes on (the assertions and the audit count such a build as accepted)."""
        try:
            yield
        except Exception as error:
            self.stopped_at, passed = connecting(network, error, phase)
            if self.stopped_at is not None:
                self.reached = passed
            else:  # a failure of its own, maybe a library's after a refusal: no verdict then
                self.failed_after = passed
            raise

    def _made_afresh(
        self, make: Callable[[ProductionBuilds], Any], overrides: Mapping[str, str | None]
    ) -> tuple[bool, Any]:
        """(True, the app ``make`` made from a fresh import of the app, or its refusal raised)
        while the app's import reads one of the variables checked (see
        :func:`~._fresh_builds.made_afresh`); else (False, None)."""

        def made(fresh: FreshBuild) -> Any:
            checker = ProductionBuilds(
                fresh, self.prod_env, clear=self.clear, startup=self.startup, fresh=self._fresh
            )
            try:
                return make(checker)
            finally:
                self.stopped_at, self.reached = checker.stopped_at, checker.reached
                self.failed_after = checker.failed_after
                self._imported_aside = checker._imported_aside
                self._loaded = checker._loaded
                self.local = checker.local
                if fresh.reads(varied):  # what this build sent is the check's; else redone
                    for envelope in checker.sentry.envelopes:
                        self.sentry.capture_envelope(envelope)

        varied = self.clear | set(overrides)
        return made_afresh(self._fresh, self.factory, varied, made)

    def _outcome(self, overrides: Mapping[str, str | None]) -> tuple[BaseException | None, Any]:
        """(the refusal, None), or (None, the app) when it booted."""
        try:
            outcome: tuple[BaseException | None, Any] = (
                None,
                (self.boot if self.startup else self.build)(**overrides),
            )
        except ImportAgainError:
            raise  # no build was made: neither accepted nor refused
        except Exception as error:
            # its build stopped at a connection: got past it
            outcome = (None, None) if self.stopped_at is not None else (error, None)
        given = {k: v for k, v in overrides.items() if v is not None}
        lost = replaced(self._loaded, given)
        if lost:
            files = ", ".join(shown for shown, _ in dotenv_setters(lost))
            raise AssertionError(
                f"the app's own load_dotenv(override=True) replaced {', '.join(lost)} with a "
                f"dotenv file's value (set in {files or 'a file python-dotenv found'}) while "
                "it was built: the value checked never reached the app, so no verdict on it "
                "holds. Run the tests from a folder without that file (production has none), "
                "or have the app load it without override=True"
            )
        return outcome
