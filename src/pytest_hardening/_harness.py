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
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._config import AppFactory, NotConfigured
from ._harness_inspection import HarnessError, HarnessInspection
from ._harness_report import HarnessReport, startup_watch, timed_shutdown

if TYPE_CHECKING:
    import httpx

    from ._apm import ApmView
    from ._apm_prometheus import PrometheusView
    from ._breakers import BreakerInspector
    from ._clock import Clock
    from ._clock_backoff import ClockBackoff
    from ._faults import FaultInjector
    from ._network import NetworkGuard
    from ._prometheus_scope import RegistryScope
    from ._providers import ProviderSpec
    from ._reuse import AppPool, AppReset, Kept
    from ._sentry import SentryCapture
    from ._sentry_guard import SentryGuard

__all__ = ["Harness", "HarnessError"]

_NOT_BUILT = object()


class Harness(HarnessInspection):
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

    # -- time and providers ----------------------------------------------------------------
    def freeze(self, *, backoff: bool = True) -> Clock:
        """Freeze time (once; later calls return the same clock). Until :meth:`fake_providers`
        serves the test, the AI SDKs' and retry libraries' back-off moves it (unless
        ``backoff`` is False: faults are about to)."""
        if self._clock is None:
            from ._clock import Clock

            cache = self._pool.clock_cache if self._pool is not None else None
            clock = Clock(self.epoch, cache=cache)
            clock.include(self._aside_modules)  # an app already built from a copy aside
            self._clock = self._stack.enter_context(clock)
            if self._faults is not None:
                self._attach_clock(self._faults, self._clock)
            elif backoff:  # the SDKs' and retry libraries' back-off moves it until faults do
                from ._clock_backoff import ClockBackoff

                self._backoff = ClockBackoff(self._clock).start()
                self._stack.callback(self._backoff.stop)
            if self._breakers is not None:
                self._stack.callback(self._clock.on_advance(self._breakers.advance))
        return self._clock

    def guard_network(self) -> NetworkGuard:
        """Refuse and record every connection off this machine, whatever client makes it
        (loopback stays open for live servers); reported by :meth:`problems`."""
        if self._network is None:
            own = self._faults._network_guard if self._faults is not None else None
            if own is None:
                from ._network import NetworkGuard

                own = self._stack.enter_context(NetworkGuard())
                if self._faults is not None:
                    self._faults._share_guard(own)
            self._network = own  # the injector's, when it has one: one guard, one report
            self._refuses_network = True
        return self._network

    def fake_providers(
        self, providers: Mapping[str, ProviderSpec], *, block_network: bool = True
    ) -> FaultInjector:
        """Answer every outbound httpx/httpx2 request in memory, as ``providers`` or the
        faults say; other connections off this machine are refused unless ``block_network``
        is False (the harness's own :meth:`guard_network` covers them when started)."""
        if self._faults is None:
            from ._faults import FaultInjector

            if self._backoff is not None:  # the injector's back-off takes over
                self._backoff.stop()
            injector = FaultInjector(
                providers,
                clock=self._clock,
                seed=self.seed,
                block_network=block_network and self._network is None,
            )
            if self._pool is not None:  # the session's TLS contexts: built once for every test
                injector._share_tls(self._pool.tls_contexts)
            if self._network is not None:  # the injector reports what it refuses
                injector._share_guard(self._network)
            self._faults = self._stack.enter_context(injector)
            self._refuses_network = self._refuses_network or block_network
            if self._clock is not None:
                self._attach_clock(injector, self._clock)
        return self._faults

    def faked_hosts(self) -> set[str]:
        """The hosts (or ``*.`` patterns) of the providers answered in memory, loopback aside."""
        from ._exit_guard import faked_hosts

        return faked_hosts(self._faults.providers) if self._faults is not None else set()

    def _attach_clock(self, injector: FaultInjector, clock: Clock) -> None:
        # Latency faults advance the clock instead of sleeping; detached before either stops.
        injector.clock = clock

        def detach() -> None:
            injector.clock = None

        self._stack.callback(detach)

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
        from ._fresh_import import aside_modules

        metrics = self._scope_metrics()
        with self._real_time():
            with aside_modules() as aside:
                self._app = call_factory(factory)
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

    def _scope_metrics(self) -> RegistryScope:
        """Metric names an earlier build of the app registered in prometheus_client's default
        registry go to this build (see :mod:`._prometheus_scope`)."""
        from ._prometheus_scope import RegistryScope

        scope = RegistryScope().start()
        self._stack.callback(scope.stop)
        self._metrics_refused = scope.refused
        return scope

    def _reuse(
        self,
        factory: Callable[[], Any],
        kept: Kept,
        reset: AppReset,
        guard: SentryGuard,
        capture: SentryCapture,
    ) -> Any:
        from ._reuse import ResetFailed

        try:
            with self._real_time():
                kept.adopt(reset, guard, capture)
                self._include_aside(kept.aside_modules)  # frozen when time resumes: one restart
        except ResetFailed as error:
            raise HarnessError(str(error)) from error.__cause__
        self._app, self._kept, self._client = kept.app, kept, kept.client
        self._base_headers = dict(kept.client.headers)
        self._stack.callback(self._hand_back)
        self._serve(kept.client)
        return self._app

    def _serve(self, client: Any) -> None:
        # Until the app stops or is handed back (undone first, as registered after): there,
        # an async breaker's methods run in the app's loop (see _in_app_loop).
        self._serving = client.portal
        self._stack.callback(setattr, self, "_serving", None)

    def _hand_back(self) -> None:
        kept, self._kept = self._kept, None
        if kept is not None and self._pool is not None and self._guard is not None:
            kept.client.headers = self._base_headers
            kept.guarded = self._refuses_network
            with self._real_time():  # an app the test changed is shut down here, not kept
                kept.hand_back(self._pool, self._pool_key, self._guard)

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

    def client(self, *, headers: Mapping[str, str] | None = None) -> Any:
        """A sync client with the app's lifespan running in its portal thread (server errors
        come back as 500s); ``headers`` go with every request. Starlette's ``TestClient`` for
        a Starlette app, an ``httpx.Client`` over the ASGI app otherwise."""
        if self._client is None:
            if self._lifespan:
                raise HarnessError(
                    "the lifespan already runs without a client: ask for the client first"
                )
            from ._asgi_client import sync_test_client

            client = sync_test_client(self.app)
            self._base_headers = dict(client.headers)
            with self._real_time(), startup_watch(self.app):
                if self._pool_key is None:
                    self._client = self._stack.enter_context(_TimedExit(client, self.app))
                else:
                    self._client = self._keep(client.__enter__())
            self._capture_started_sentry()
            self._serve(self._client)
            hooks = self._client.event_hooks["response"]
            hooks.append(self._report.answered)
            self._stack.callback(hooks.remove, self._report.answered)  # a kept client outlives us
        self._client.headers = {**self._base_headers, **dict(headers or {})}
        return self._client

    def reset_app(self, reset: AppReset) -> None:
        """Run ``reset(app)`` (sync or async) in the app's event loop, in real time: the
        client's portal, so :meth:`client` first. For an app built afresh whose data outlives
        the build (a database file, the one app a module builds at import); an app the pool
        keeps stays keepable, with what the reset set on ``app.state``."""
        if self._client is None:
            raise HarnessError("no running app: call client() before reset_app()")
        from ._reuse import _run_reset, fingerprint

        with self._real_time():
            self._client.portal.call(_run_reset, reset, self.app)
        if self._kept is not None:  # else the change would read as the test's, and not kept
            self._kept.fingerprint = fingerprint(self.app)

    def _keep(self, client: Any) -> Any:
        # Entered outside the stack: at close the pool takes it over, still running.
        from ._reuse import Kept, fingerprint

        self._kept = Kept(self.app, client, None, fingerprint(self.app), self._reset)
        self._kept.aside_modules = dict(self._aside_modules)
        self._stack.callback(self._hand_back)
        return client

    def start_lifespan(self) -> None:
        """Run the app's lifespan in a portal thread, for use without a client."""
        if self._client is None and not self._lifespan:
            from ._app import running_lifespan

            with self._real_time(), startup_watch(self.app):
                self._stack.enter_context(_TimedExit(running_lifespan(self.app), self.app))
            self._lifespan = True
            self._capture_started_sentry()

    @contextlib.asynccontextmanager
    async def async_client(
        self, *, headers: Mapping[str, str] | None = None
    ) -> AsyncIterator[httpx.AsyncClient]:
        """An ``httpx.AsyncClient`` over the app; the lifespan runs in the caller's loop,
        where the app's loop-bound resources (clients, database engines) will be used."""
        import httpx

        from ._app import LifespanManager, with_state
        from ._async_transport import AppTransport

        manager = LifespanManager(self.app)
        with self._real_time(), startup_watch(self.app):
            await manager.__aenter__()
        try:
            self._capture_started_sentry()
            transport = AppTransport(with_state(self.app, manager.state))

            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://testserver",
                headers=dict(headers or {}),
                event_hooks={"response": [self._report.answered_async]},
            ) as client:
                yield client
        finally:
            with timed_shutdown(self.app):
                await manager.__aexit__(None, None, None)

    def _capture_started_sentry(self) -> None:
        # Apps may initialise Sentry at startup rather than at build.
        if self._guard is not None and self._sentry is not None:
            self._guard.capture_into(self._sentry)

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

    def callback(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` at :meth:`close`, before what was started before this call is undone."""
        self._stack.callback(fn)

    def __enter__(self) -> Harness:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _TimedExit:
    """A sync client whose exit (the app's lifespan shutdown) is timed by
    :func:`~._harness_report.timed_shutdown`."""

    def __init__(self, client: Any, app: Any) -> None:
        self._client, self._app = client, app

    def __enter__(self) -> Any:
        return self._client.__enter__()

    def __exit__(self, *exc_info: Any) -> Any:
        with timed_shutdown(self._app):
            return self._client.__exit__(*exc_info)
