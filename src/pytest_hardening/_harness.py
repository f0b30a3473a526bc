"""Harness: the whole order of setting up a hardened test, and its undo, in one plain class.

The fixtures and the chaos runner are thin views of it; it is usable without pytest, like
pytest's ``MonkeyPatch``::

    with Harness(seed=7) as harness:
        app = harness.build(create_app, env)
        faults = harness.fake_providers(providers)
        clock = harness.freeze()
        client = harness.client()
        ...

Each part starts on first use and pulls in what it needs. Whatever the order of the calls,
the parts relate the same way: the environment is set and Sentry's global state saved before
the app is built; Sentry capture is attached to clients the app created (never to one that
existed before); the app is built and its lifespan started in real time (modules imported
for the first time under frozen time would keep freezegun's fake classes for good); faults
and clock know each other. :meth:`close` undoes everything in reverse order of what started.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._config import AppFactory, NotConfigured
from ._harness_inspection import HarnessError, HarnessInspection
from ._harness_providers import HarnessProviders
from ._harness_report import HarnessReport
from ._harness_serving import HarnessServing

if TYPE_CHECKING:
    from ._apm import ApmView
    from ._apm_prometheus import PrometheusView
    from ._breakers import BreakerInspector
    from ._clock import Clock
    from ._clock_backoff import ClockBackoff
    from ._faults import FaultInjector
    from ._kept import AppReset, Kept
    from ._left_threads import LeftThreads
    from ._network import NetworkGuard
    from ._prometheus_scope import RegistryScope
    from ._reuse import AppPool
    from ._sentry import SentryCapture
    from ._sentry_guard import SentryGuard

__all__ = ["Harness", "HarnessError"]

_NOT_BUILT = object()


class Harness(HarnessProviders, HarnessServing, HarnessInspection):
    """Environment, Sentry, app, clock, faults, client, breakers and APM for one test or run.

    ``seed`` seeds the fault injector's random failures; ``epoch`` is where the frozen clock
    starts (default: now). With a ``pool``, an app built with a ``reset`` is kept running after
    :meth:`close` for the next harness that builds the same app (see :mod:`._reuse`). A
    context manager; :meth:`close` for fixtures.
    """

    def __init__(
        self,
        *,
        seed: int | str | None = None,
        epoch: dt.datetime | None = None,
        pool: AppPool | None = None,
    ) -> None:
        self.seed = seed
        self.epoch = epoch
        self._pool = pool
        self._pool_key: Any = None
        self._reset: AppReset | None = None
        self._kept: Kept | None = None
        self._left_threads: LeftThreads | None = None
        self._base_headers: dict[str, str] = {}
        self._stack = contextlib.ExitStack()
        self._clock: Clock | None = None
        self._backoff: ClockBackoff | None = None  # the clock's, while no injector serves it
        self._aside_modules: dict[str, ModuleType] = {}
        self._faults: FaultInjector | None = None
        self._network: NetworkGuard | None = None
        self._refuses_network = False  # a kept app's shutdown after the test is refused it too
        self._app: Any = _NOT_BUILT
        self._guard: SentryGuard | None = None
        self._sentry: SentryCapture | None = None
        self._client: Any = None
        self._serving: Any = None  # the client's portal, while it serves the app
        self._lifespan = False
        self._breakers: BreakerInspector | None = None
        self._apm: ApmView | PrometheusView | None = None
        self._metrics_refused: list[str] = []  # the app's prometheus registrations refused
        self._report = HarnessReport()

    # -- the app ---------------------------------------------------------------------------
    def build(
        self,
        factory: AppFactory,
        env: Mapping[str, str],
        *,
        clear: Iterable[str] = (),
        reset: AppReset | None = None,
    ) -> Any:
        """Build the app with exactly ``env`` set (names in ``clear`` removed first) for the
        rest of the harness's life; Sentry clients it creates send to :attr:`sentry`.

        With ``reset`` (and a pool), an app kept from an earlier harness with the same factory
        and env is reset and reused, client and lifespan included, instead of built.
        """
        if self._app is not _NOT_BUILT:
            raise HarnessError("the app is already built: a harness holds one app")
        if isinstance(env, NotConfigured):
            env.require()
        from ._app import app_env, call_factory
        from ._cached_getters import CachedGetters
        from ._sentry import SentryCapture
        from ._sentry_guard import SentryGuard
        from ._wsgi import refuse_wsgi_app

        getters = self._pool.cached_getters(factory) if self._pool else CachedGetters(factory)
        self._stack.enter_context(app_env(factory, env, clear=clear, getters=getters))
        # Every Sentry client the app creates sends here, a refused build's report included.
        self._sentry = SentryCapture()
        self._guard = self._stack.enter_context(SentryGuard(self._sentry))
        if reset is not None and self._pool is not None:
            from ._reuse import pool_key

            self._reset = reset
            self._pool_key = pool_key(factory, env, clear)
            kept = self._pool.take(self._pool_key)
            if kept is not None:
                return self._reuse(factory, kept, reset, self._guard, self._sentry)
        from ._build_modes import aside_modules, is_production_build

        if is_production_build():  # its startup's logging set-up too, undone at close
            from ._logging_scope import logging_left_as_found

            self._stack.enter_context(logging_left_as_found())
        metrics = self._scope_metrics()
        if reset is None or self._pool is None:  # built for this test alone, shut down after
            from ._left_threads import LeftThreads

            self._left_threads = LeftThreads()
        with self._real_time():
            with aside_modules() as aside:
                try:
                    app = call_factory(factory)
                    name = getattr(factory, "__qualname__", repr(factory))
                    refuse_wsgi_app(app, f"the app factory {name} returned")  # not a 500 later
                    self._app = app
                except BaseException:
                    metrics.failed()
                    raise
            if self._pool is not None:  # the same object kept running for another key
                self._pool.stop_running(self._app)
            self._include_aside(aside)  # frozen with the rest when time resumes
        getters.learn(self._app)  # its settings getters are cleared at close, then next build
        metrics.own(self._app)
        self._guard.capture_into(self._sentry)  # before lifespan: nothing may reach a real DSN
        return self._app

    def _include_aside(self, modules: Mapping[str, ModuleType]) -> None:
        """An app built from a copy of its package imported aside (``app_from_import``) reads
        time through that copy's modules, which ``sys.modules`` does not hold: the clock
        freezes them too."""
        if modules:
            self._aside_modules.update(modules)
            if self._clock is not None:
                self._clock.include(modules)
            if self._faults is not None:  # the back-off modules named: their copies too
                self._faults._include_aside(modules)

    def _scope_metrics(self) -> RegistryScope:
        """Metric names an earlier build of the app registered in prometheus_client's default
        registry go to this build (see :mod:`._prometheus_scope`)."""
        from ._build_modes import is_production_build
        from ._prometheus_scope import RegistryScope

        # A production build is a throwaway copy beside the development one (built at import,
        # say, or by another fixture): its names are its own until the test ends, then put back.
        scope = RegistryScope(displace=is_production_build()).start()
        self._stack.callback(scope.stop)
        self._metrics_refused = scope.refused
        return scope

    @property
    def app(self) -> Any:
        if self._app is _NOT_BUILT:
            raise HarnessError("no app yet: call build(factory, env) first")
        return self._app

    @property
    def sentry(self) -> SentryCapture:
        """What the app's own Sentry client sent, after its before_send and scrubbing."""
        if self._sentry is None:
            raise HarnessError("no app yet: Sentry capture starts with build()")
        return self._sentry

    @contextlib.contextmanager
    def _real_time(self) -> Iterator[None]:
        # The app's startup and shutdown: in real time, and no back-off to report.
        with contextlib.ExitStack() as stack:
            if self._clock is not None:
                stack.enter_context(self._clock.paused())
            if self._faults is not None:
                stack.enter_context(self._faults._unwatched())
            yield

    @property
    def clock(self) -> Clock | None:
        return self._clock

    @property
    def faults(self) -> FaultInjector | None:
        return self._faults

    @property
    def breakers(self) -> BreakerInspector | None:
        return self._breakers

    # -- undo ------------------------------------------------------------------------------
    def problems(self) -> str:
        """What must fail the test although nothing raised (unregistered hosts, faults armed
        and never triggered ...), with what explains it; empty when all is well."""
        return self._report.problems(self._faults, self._network, self._breakers)

    def close(self) -> None:
        """Undo everything, in reverse order of what started."""
        try:
            self._stack.close()
        finally:
            if self._pool is not None:
                self._pool.trim()  # in real time: evicted apps run their lifespan shutdown
        left, self._left_threads = self._left_threads, None
        warning = left.warning() if left is not None else None
        if warning is not None:
            warnings.warn(warning, stacklevel=2)

    def callback(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` at :meth:`close`, before what was started before this call is undone."""
        self._stack.callback(fn)

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
