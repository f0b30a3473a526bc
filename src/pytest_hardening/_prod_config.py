"""ProdConfigChecker: build the app from a production env and prove unsafe configs are refused."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from ._app import app_env, build_app
from ._app_modules import app_folder
from ._build_modes import aside_modules, production_build
from ._cached_getters import CachedGetters
from ._config import AppFactory, NotConfigured
from ._dotenv_files import dotenv_hints, dotenv_setters
from ._env_reads import EnvAccess, replaced
from ._fresh_builds import FreshBuild, FreshBuilds, import_spec, made_afresh
from ._network import NetworkGuard
from ._prod_variants import (
    AuditReport,
    Mutation,
    debug_stayed_off,
    declared_optional,
    unsafe_variants,
    weak_secrets,
)
from ._prometheus_scope import metrics_owned_by
from ._refusal_text import RefusalText, names_variable
from ._registries import ImportAgainError
from ._sentry import SentryCapture
from ._sentry_guard import SentryGuard
from ._stops import connecting
from ._unsafe_builds import ANY_ORIGIN, credentialed_any_origin, origin_variables, runs_in_debug
from ._work_dir import WorkDirChanges, watched_folders

__all__ = ["ProdConfigChecker"]


class ProdConfigChecker:
    """Build the app from ``prod_env`` with overrides; assert what it refuses."""

    def __init__(
        self,
        factory: AppFactory,
        prod_env: Mapping[str, str],
        *,
        clear: Iterable[str] = (),
        on_finding: Callable[[str], None] | None = None,
        startup: bool = True,
        fresh: FreshBuilds | None = None,
    ) -> None:
        if isinstance(prod_env, NotConfigured):
            prod_env.require()
        self.factory = factory
        self.prod_env = dict(prod_env)
        self._text = RefusalText(self.prod_env)  # what a refusal shows, and what it leaks
        self.clear = set(clear) | set(prod_env)
        self._on_finding = on_finding
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
        self.stopped_at, self.reached, self.local = None, [], []
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
        from ._app import running_lifespan

        self.stopped_at, self.reached, self.local = None, [], []
        made, app = self._made_afresh(lambda checker: checker.boot(**overrides), overrides)
        if made:
            return app
        # A fresh build's, if it was only asked what its import reads.
        self.stopped_at, self.reached, self.local = None, [], []
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
            raise

    def _made_afresh(
        self, make: Callable[[ProdConfigChecker], Any], overrides: Mapping[str, str | None]
    ) -> tuple[bool, Any]:
        """(True, the app ``make`` made from a fresh import of the app, or its refusal raised)
        while the app's import reads one of the variables checked (see
        :func:`~._fresh_builds.made_afresh`); else (False, None)."""

        def made(fresh: FreshBuild) -> Any:
            checker = ProdConfigChecker(
                fresh, self.prod_env, clear=self.clear, startup=self.startup, fresh=self._fresh
            )
            try:
                return make(checker)
            finally:
                self.stopped_at, self.reached = checker.stopped_at, checker.reached
                self._imported_aside = checker._imported_aside
                self._loaded = checker._loaded
                self.local = checker.local
                if fresh.reads(varied):  # what this build sent is the check's; else redone
                    for envelope in checker.sentry.envelopes:
                        self.sentry.capture_envelope(envelope)

        varied = self.clear | set(overrides)
        return made_afresh(self._fresh, self.factory, varied, made)

    def _attempt(self, overrides: Mapping[str, str | None]) -> BaseException | None:
        return self._outcome(overrides)[0]

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

    def assert_accepts(self, **overrides: str | None) -> Any:
        """Fail unless the production build succeeds with ``overrides`` and runs out of debug
        mode (a debug flag that is on is no production build); return the app."""
        __tracebackhide__ = True
        error, app = self._outcome(overrides)
        if error is not None:
            raise AssertionError(
                f"expected the production build to succeed with {_describe(overrides)}; it was "
                f"refused: {self._text.shown(error, overrides)}"
            ) from None
        unsafe = _unsafe_build(app, overrides)
        if unsafe:
            raise AssertionError("\n".join(unsafe))
        return app

    def assert_rejects(self, *, drop: Iterable[str] = (), **overrides: str | None) -> BaseException:
        """Fail unless the build is refused and the error names every dropped or overridden
        variable (case-insensitive) without echoing a secret value; return the error."""
        __tracebackhide__ = True
        changes: dict[str, str | None] = {**dict.fromkeys(drop), **overrides}
        error = self._attempt(changes)
        if error is None:
            self._finding(f"accepted {_describe(changes)}")
            # A factory reached by name is imported afresh when its import reads the env.
            afresh = (
                self._imported_aside
                or hasattr(self.factory, "modules_of")
                or import_spec(self.factory) is not None
            )
            ran = (
                f"the app got past what it validates: {self.stopped_at}"
                if self.stopped_at is not None
                else "the app was built and its startup ran"
            )
            raise AssertionError(
                f"expected the production build to be refused with {_describe(changes)}; "
                f"{ran}. Validate these variables when the app is built or starts"
                + (
                    ": the app accepts them."
                    if afresh
                    else f". A check made when a module is imported ran under the development "
                    f"env: {self.factory!r} cannot be imported afresh by name (a lambda, a "
                    "conftest's function); return a module's factory, or app_from_import "
                    "(docs/fixtures.md)."
                )
                + "".join(f"\n{hint}" for hint in dotenv_hints(changes))
            )
        text = str(error)
        missing = [name for name in changes if not names_variable(text, name)]
        leaked = self._text.leaks_of(error, changes)
        problems = []
        if missing:
            problems.append(f"the error does not name {', '.join(missing)}")
        if leaked:
            for name in leaked:
                self._finding(f"rejection message leaks the value of {name}")
            problems.append(
                f"the error leaks the value of {', '.join(leaked)}"
                + self._text.echoed(error, leaked, changes)
            )
        if problems:
            raise AssertionError(
                f"the build was refused ({type(error).__name__}) but {'; '.join(problems)}.\n"
                f"error: {self._text.shown(error, changes)}"
            )
        return error

    def audit(self, optional: Iterable[str] | None = None) -> AuditReport:
        """Apply each unsafe mutation to the known-good env, one at a time.

        Dropping a variable named in ``optional`` is not tried; by default those are the mode
        variables (``APP_ENV``, ``ENVIRONMENT``, ``NODE_ENV``, ...: ``MODE_VARIABLES``) and the
        app's declared ``PRODUCTION_OPTIONAL``
        (see :func:`declared_optional`)."""
        report = AuditReport()
        if optional is None:
            optional = declared_optional(self.factory)
        package = getattr(self.factory, "__module__", None) or ""
        packages = getattr(self.factory, "app_packages", None) or [package.partition(".")[0]]
        top = sorted(packages)[0] if packages else None
        watches = [WorkDirChanges(f) for f in watched_folders(app_folder(self.factory), top)]
        try:
            self._audit(report, optional)
        finally:
            report.wrote = [change for watch in watches for change in watch.changed()]
        return report

    def _audit(self, report: AuditReport, optional: Iterable[str]) -> None:
        baseline, app = self._outcome({})
        report.reached = list(self.reached)
        if baseline is not None:  # every variant would look refused
            raise AssertionError(
                "the production audit needs the known-good env to boot, and it was refused: "
                f"{self._text.shown(baseline, {})}\n"
                "fix hardening_prod_env (or the factory) until prod_config.assert_accepts() "
                "passes"
            )
        unsafe = _unsafe_build(app, {})
        if unsafe:  # its unsafe variants would be judged against an unsafe build
            raise AssertionError(
                "the production audit needs the known-good env's build to be safe, and "
                + "; and ".join(unsafe)
                + "\nfix the app (or hardening_prod_env) until prod_config.assert_accepts() "
                "passes"
            )
        near = app_folder(self.factory, app)  # its example files, wherever tests run from
        for mutation in weak_secrets(self.prod_env, near=near):  # accepted as the known-good env
            report.accepted.append(mutation)
            self._finding(f"accepted {mutation}")
        # Variables the app lets in as CORS origins get the any-origin variant, whatever
        # their names (FRONTEND_HOST in allow_origins).
        origins = origin_variables(app, self.prod_env)
        for mutation in unsafe_variants(self.prod_env, optional, origins, near=near):
            changes = {mutation.variable: mutation.value}
            error, app = self._outcome(changes)
            if error is None and debug_stayed_off(mutation, app):
                report.harmless.append(mutation)
                continue
            if error is None:
                report.accepted.append(mutation)
                if self.stopped_at is not None:
                    report.notes[mutation] = self.stopped_at
                self._finding(f"accepted {mutation}")
                continue
            report.rejected.append(mutation)
            text = str(error)
            if not names_variable(text, mutation.variable):
                report.unnamed.append(mutation)
                self._finding(f"refused without naming the variable: {mutation}")
            # One leak per refusal and place (the lines shown, or pydantic's input), naming
            # every secret there: a settings error repeats them all at once.
            where: dict[str, list[str]] = {}
            for name in self._text.leaks_of(error, {}):
                where.setdefault(self._text.echoed(error, [name], {}), []).append(name)
            for place, names in where.items():
                values = f"value of {names[0]}" if len(names) == 1 else f"values of {_and(names)}"
                leak = f"refusing '{mutation}' printed the {values}{place}"
                if leak not in report.leaks:
                    report.leaks.append(leak)
                    self._finding(f"leak: {leak}")

    def mutations(self, optional: Iterable[str] | None = None) -> list[Mutation]:
        """The variants :meth:`audit` tries on the known-good env, by the same default for
        ``optional`` (the mode variables and the app's ``PRODUCTION_OPTIONAL``: not dropped);
        not those it adds once it has seen the app (any origin for a variable its CORS lets
        in)."""
        if optional is None:
            optional = declared_optional(self.factory)
        return unsafe_variants(self.prod_env, optional, near=app_folder(self.factory))

    def _finding(self, text: str) -> None:
        if self._on_finding is not None:
            self._on_finding(text)


def _unsafe_build(app: Any, overrides: Mapping[str, str | None]) -> list[str]:
    """What makes the production build ``app`` (made with ``overrides``) unsafe, every problem:
    debug mode, credentialed requests from any origin."""
    problems = []
    if runs_in_debug(app):
        problems.append(
            f"the production build with {_describe(overrides)} runs in debug mode (its "
            "debug flag is on): an error's traceback would reach the client. Have the app "
            "switch debug off under hardening_prod_env (does its mode variable hold "
            "exactly the value the app reads as production?)"
        )
    if credentialed_any_origin(app):
        problems.append(
            f"the production build with {_describe(overrides)} lets any origin make "
            f"credentialed requests: {ANY_ORIGIN}"
        )
    return problems


def _and(names: list[str]) -> str:
    return f"{', '.join(names[:-1])} and {names[-1]}"


def _describe(changes: Mapping[str, str | None]) -> str:
    if not changes:
        return "the known-good env"
    return ", ".join(
        f"{name} dropped" if value is None else f"{name} changed" for name, value in changes.items()
    )
