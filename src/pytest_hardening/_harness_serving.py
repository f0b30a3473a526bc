"""The harness's running app: its clients (sync, kept by the pool; async, in the test's loop),
its lifespan without a client, its reset, and its hand-back to the pool. A part of
:class:`~._harness.Harness` (whose state it reads), apart for its size; what a lifespan started
again in each test says is :mod:`._lifespan_restarts`'s."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._fault_advice import FIXTURES, Advice
from ._harness_inspection import HarnessError
from ._harness_report import HarnessReport, startup_watch, timed_shutdown
from ._lifespan_restarts import TimedExit, restarted

if TYPE_CHECKING:
    import httpx

    from ._breakers import BreakerInspector
    from ._faults import FaultInjector
    from ._kept import AppReset, Kept
    from ._reuse import AppPool
    from ._sentry import SentryCapture
    from ._sentry_guard import SentryGuard

__all__ = ["HarnessServing"]


class HarnessServing:
    """Clients, lifespan, reset and reuse of the harness's app (see :class:`~._harness.Harness`)."""

    _stack: contextlib.ExitStack
    _pool: AppPool | None
    _pool_key: Any
    _reset: AppReset | None
    _kept: Kept | None
    _base_headers: dict[str, str]
    _aside_modules: dict[str, ModuleType]
    _refuses_network: bool
    _app: Any
    _guard: SentryGuard | None
    _sentry: SentryCapture | None
    _client: Any
    _serving: Any
    _lifespan: bool
    _report: HarnessReport
    _breakers: BreakerInspector | None
    _faults: FaultInjector | None

    @property
    def app(self) -> Any:
        raise NotImplementedError

    @property
    def _advice(self) -> Advice:
        """Where the messages point: the chaos session's faults say so, else the fixtures."""
        return self._faults.advice if self._faults is not None else FIXTURES

    def _real_time(self) -> contextlib.AbstractContextManager[None]:
        raise NotImplementedError

    def _include_aside(self, modules: Mapping[str, ModuleType]) -> None:
        raise NotImplementedError

    def _reuse(
        self,
        factory: Callable[[], Any],
        kept: Kept,
        reset: AppReset,
        guard: SentryGuard,
        capture: SentryCapture,
    ) -> Any:
        from ._kept import ResetFailed

        try:
            with self._real_time():
                kept.adopt(reset, guard, capture, advice=self._advice)
                self._include_aside(kept.aside_modules)  # frozen when time resumes: one restart
        except ResetFailed as error:
            raise HarnessError(str(error)) from error.__cause__
        self._app, self._kept, self._client = kept.app, kept, kept.client
        self._base_headers = dict(kept.client.headers)
        self._stack.callback(self._hand_back)
        self._serve(kept.client)
        self._watch_answers(kept.client)
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
            # A kept app (a reset given) starts once; an app object built once and started
            # again in each test is counted, and a lifespan error then says so.
            before = 0
            if self._pool is not None and self._pool_key is None:
                before = self._pool.lifespan_ran(self.app)
                self._report.started_again(self.app, before)
            with self._real_time(), startup_watch(self.app), restarted(self.app, before):
                if self._pool_key is None:
                    timed = TimedExit(client, self.app, before)
                    self._client = self._stack.enter_context(timed)
                else:
                    self._client = self._keep(client.__enter__())
            self._capture_started_sentry()
            self._serve(self._client)
            self._watch_answers(self._client)
        self._client.headers = {**self._base_headers, **dict(headers or {})}
        return self._client

    def _watch_answers(self, client: Any) -> None:
        """The test's answers noted (for its report) and its breakers looked at, on ``client``
        until the test ends: a kept client outlives the test, and serves the next one too."""
        hooks = client.event_hooks["response"]
        hooks.extend((self._report.answered, self._look_at_breakers))
        self._stack.callback(hooks.remove, self._report.answered)
        self._stack.callback(hooks.remove, self._look_at_breakers)

    def _look_at_breakers(self, response: Any) -> None:
        # Each request may move a breaker that reports no transitions of its own: seen now,
        # or two moves read at once would be recorded as one no breaker makes.
        if self._breakers is not None:
            self._breakers.look()

    def reset_app(self, reset: AppReset) -> None:
        """Run ``reset(app)`` (sync or async) in the app's event loop, in real time: the
        client's portal, so :meth:`client` first. For an app built afresh whose data outlives
        the build (a database file, the one app a module builds at import); an app the pool
        keeps stays keepable, with what the reset set on ``app.state``."""
        if self._client is None:
            raise HarnessError("no running app: call client() before reset_app()")
        from ._kept import fingerprint, run_reset

        with self._real_time():
            self._client.portal.call(run_reset, reset, self.app)
        if self._kept is not None:  # else the change would read as the test's, and not kept
            self._kept.fingerprint = fingerprint(self.app)

    def _keep(self, client: Any) -> Any:
        # Entered outside the stack: at close the pool takes it over, still running.
        from ._kept import Kept, fingerprint

        kept = Kept(self.app, client, None, fingerprint(self.app), self._reset)
        kept.aside_modules = dict(self._aside_modules)
        if self._reset is not None:
            # Reset once its startup ran, as when a later test takes it: a database the session
            # shares may hold what tests outside the pool wrote (async ones, another factory's).
            try:
                kept.reset(self._reset)
            except Exception as error:
                client.__exit__(None, None, None)
                raise _reset_refused(self._reset, error, self._advice) from error
            kept.fingerprint = fingerprint(self.app)
        self._kept = kept
        self._stack.callback(self._hand_back)
        return client

    def start_lifespan(self) -> None:
        """Run the app's lifespan in a portal thread, for use without a client."""
        if self._client is None and not self._lifespan:
            from ._lifespan import running_lifespan

            with self._real_time(), startup_watch(self.app):
                self._stack.enter_context(TimedExit(running_lifespan(self.app), self.app))
            self._lifespan = True
            self._capture_started_sentry()

    @contextlib.asynccontextmanager
    async def async_client(
        self, *, headers: Mapping[str, str] | None = None, reset: AppReset | None = None
    ) -> AsyncIterator[httpx.AsyncClient]:
        """An ``httpx.AsyncClient`` over the app; the lifespan runs in the caller's loop,
        where the app's loop-bound resources (clients, database engines) will be used.
        ``reset(app)`` (sync or async), if given, runs once the lifespan started: the app is
        the caller's own, but what it stores in (a database the session shares) may not be."""
        import httpx

        from ._async_transport import AppTransport
        from ._kept import run_reset
        from ._lifespan import LifespanManager, with_state

        manager = LifespanManager(self.app)
        before = self._pool.lifespan_ran(self.app) if self._pool is not None else 0
        self._report.started_again(self.app, before, in_test_loop=True)
        again = functools.partial(restarted, self.app, before, in_test_loop=True)
        with self._real_time(), startup_watch(self.app), again():
            await manager.__aenter__()
        try:
            self._capture_started_sentry()
            if reset is not None:
                try:
                    with self._real_time():
                        await run_reset(reset, self.app)
                except Exception as error:
                    raise _reset_refused(reset, error, self._advice) from error
            transport = AppTransport(with_state(self.app, manager.state))

            async with httpx.AsyncClient(
                transport=transport,
                base_url="http://testserver",
                headers=dict(headers or {}),
                event_hooks={"response": [self._report.answered_async]},
            ) as client:
                client.app = self.app  # type: ignore[attr-defined]  # as TestClient.app
                yield client
        finally:
            with timed_shutdown(self.app), again():
                await manager.__aexit__(None, None, None)

    def _capture_started_sentry(self) -> None:
        # Apps may initialise Sentry at startup rather than at build.
        if self._guard is not None and self._sentry is not None:
            self._guard.capture_into(self._sentry)


def _reset_refused(reset: AppReset, error: Exception, advice: Advice) -> HarnessError:
    from ._kept import reset_raised

    one = advice.one
    return HarnessError(
        reset_raised(
            reset,
            error,
            f"on the app just started, before the {one} (every {one} given a reset starts "
            "from a reset app)",
            f"fix the reset, or {advice.no_reset} (an app built per {one}, not reset)",
        )
    )
