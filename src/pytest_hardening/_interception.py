"""What a started :class:`~._faults.FaultInjector` puts in place, and takes away again: where
outbound requests are caught, where the network is closed, and where retry back-off sleeps."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from types import ModuleType

import httpx
import respx
from respx.models import AllMockedAssertionError

from . import _httpx2, _httpx_transports, _retry_libraries, _sdk_retries, _shared_tls
from ._fault_scripts import Advancer
from ._httpx2 import Httpx2Interceptor
from ._httpx_fast_path import ProviderFastPath
from ._httpx_sends import HttpxSends
from ._httpx_transports import HttpxTransportInterceptor
from ._import_watch import ImportWatch
from ._network import NetworkGuard
from ._respx_routers import routed_elsewhere
from ._retry_libraries import VirtualLibrarySleep
from ._sdk_retries import VirtualRetrySleep
from ._shared_tls import SharedTLSContexts, TLSPatches
from ._sleep_watch import RealSleep, SleepWatch
from ._virtual_time import ServingThreads

__all__ = ["Interception"]

Respond = Callable[[httpx.Request], httpx.Response]

#: Libraries reached when the app imports them after the start (see :meth:`catch_up`).
_LATE_IMPORTS = frozenset().union(
    _httpx2.PACKAGES,
    _httpx_transports.PACKAGES,
    _retry_libraries.PACKAGES,
    _sdk_retries.PACKAGES,
    _shared_tls.PACKAGES,
)


class Interception:
    """Started in order, stopped in reverse: a catch-all respx router (httpx), a note of the
    requests sent through closed httpx clients, httpx2's and the aiohttp transports, the AI
    SDKs' and the retry libraries' virtual back-off, the network guard, a watch of the real
    sleeps of the back-off it does not know while no clock is attached, a watch that reaches
    those libraries when the app imports one later, and one TLS context for the
    default-configured clients built meanwhile (no request needs one), from :attr:`tls`: the
    injector's own, or a session's set before the start.
    ``respond`` answers every caught request; ``owns(url)`` says whether a provider owns it;
    ``clock()`` is the clock the back-off moves, or None (real sleeps)."""

    def __init__(
        self,
        respond: Respond,
        owns: Callable[[httpx.URL], bool],
        clock: Callable[[], Advancer | None],
        *,
        block_network: bool,
    ) -> None:
        self._respond = respond
        self._owns = owns
        #: Provider URLs a route of the test's own respx router answered instead.
        self.answered_by_respx: list[httpx.URL] = []
        #: The app's sends through httpx clients: those httpx refused because the client was
        #: closed, how many went to each host (see _httpx_sends).
        self.sends = HttpxSends()
        self._router: respx.MockRouter | None = None
        self._httpx2 = Httpx2Interceptor(respond)
        self._transports = HttpxTransportInterceptor(respond)
        self._fast_path = ProviderFastPath(respond, self._served_above_httpcore)
        self.guard = NetworkGuard() if block_network else None
        threads = ServingThreads()  # the test's: the injector is made in its thread
        #: The threads and tasks the test waits for (see _virtual_time).
        self.threads = threads
        # The packages whose back-off is counted here, growing as generated SDKs are found.
        counted = set(_retry_libraries.PACKAGES)
        self._sdk_sleep = VirtualRetrySleep(clock, threads, packages=counted)
        #: The back-off delays that moved the clock instead of sleeping (SDKs and libraries).
        self.sleeps = self._sdk_sleep.sleeps
        #: The back-off delays slept for real, for want of a clock (SDKs and libraries).
        self.real_sleeps = self._sdk_sleep.real_sleeps
        self._library_sleep = VirtualLibrarySleep(
            clock, self.sleeps, self.real_sleeps, threads, inline=self._sdk_sleep.inline
        )
        #: Real sleeps of modules the injector does not know (botocore's retries),
        #: while no clock is attached: the clock's own watch speaks for its time. Those of the
        #: libraries above are counted by them.
        self.watch = SleepWatch(
            threads,
            ignore=counted,
            when=lambda: clock() is None,
            divert=self._library_sleep.own.callers,
        )
        self._imports = ImportWatch(
            _LATE_IMPORTS, self.catch_up, suffixes=(_sdk_retries.BASE_CLIENT,)
        )
        self.tls = SharedTLSContexts()
        self._tls: TLSPatches | None = None

    @property
    def started(self) -> bool:
        return self._router is not None

    def start(self) -> None:
        router = respx.MockRouter(assert_all_called=False, assert_all_mocked=True)
        router.route().mock(side_effect=self._answer_for_respx)
        router.start()
        self._router = router
        self._fast_path.start()
        self.sends.start()
        self._httpx2.start()
        self._transports.start()
        self._sdk_sleep.start()
        self._library_sleep.start()
        self.watch.start()
        if self.guard is not None:
            self.guard.start()
        self._tls = self.tls.patch()
        self._imports.start()

    def stop(self) -> None:
        router, self._router = self._router, None
        if router is None:
            return
        self._imports.stop()
        if self._tls is not None:
            self._tls.undo()
            self._tls = None
        if self.guard is not None:
            self.guard.stop()
        self.watch.stop()
        self._sdk_sleep.stop()
        self._library_sleep.stop()
        self._transports.stop()
        self._httpx2.stop()
        self.sends.stop()
        self._fast_path.stop()
        router.stop(quiet=True)

    def catch_up(self) -> None:
        """Reach what the app imported since :meth:`start`: aiohttp transports, the AI SDKs,
        retry libraries, httpx2's TLS contexts. Runs by itself after each such import while
        started."""
        self._httpx2.catch_up()
        self._transports.catch_up()
        if self.started:
            self._sdk_sleep.start()
            self._library_sleep.start()
        if self._tls is not None:
            self._tls.catch_up()

    def own_backoff(self, modules: Iterable[str | ModuleType]) -> None:
        """The app's own ``modules`` back off in virtual time too (see _own_backoff)."""
        self._library_sleep.own.name(modules, started=self.started)
        # Named but not importable yet (the app's import puts them on sys.path): reached once
        # imported, by the catch-up.
        self._imports.watch(name.partition(".")[0] for name in self.unresolved_backoff)

    def include_aside(self, modules: Mapping[str, ModuleType]) -> None:
        """The copies imported aside of the app's modules (see _own_backoff)."""
        self._library_sleep.own.include_aside(modules, started=self.started)

    @property
    def unknown_sleeps(self) -> list[RealSleep]:
        """The real sleeps :attr:`watch` saw in the threads that serve the test."""
        return list(self.watch.sleeps)

    @property
    def unresolved_backoff(self) -> list[str]:
        return self._library_sleep.own.unresolved

    @property
    def unfound_backoff(self) -> list[str]:
        return self._library_sleep.own.unfound

    @property
    def refused_backoff(self) -> list[str]:
        return list(self._library_sleep.own.refused)

    def _served_above_httpcore(self, request: httpx.Request) -> bool:
        # What the router would answer with a provider's faults (see _answer_for_respx).
        return self._owns(request.url) and not routed_elsewhere(
            self._router, request, catch_all=False
        )

    def _answer_for_respx(self, request: httpx.Request) -> httpx.Response:
        # A test may mock other hosts with respx routers of its own (respx_mock): respx asks
        # its routers in the order they started, and this catch-all one must not answer, as
        # an unregistered host, a request one of them routes.
        # On a provider's host, a route of the test's that names it wins too (its more specific
        # answer, whichever fixture started first); not a catch-all one.
        owned = self._owns(request.url)
        if routed_elsewhere(self._router, request, catch_all=not owned):
            if owned:
                self.answered_by_respx.append(request.url)
            raise AllMockedAssertionError(f"{request.url} is for another respx router")
        return self._respond(request)
