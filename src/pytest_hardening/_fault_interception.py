"""What a fault injector hands its :class:`~._interception.Interception`, and reads back from
it: the app's modules whose back-off is virtual, a session's TLS contexts and a harness's
network guard; the connections refused, and the retry sleeps moved or slept for real. A part of
:class:`~._faults.FaultInjector` (whose state it reads), apart for its size."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._fault_scripts import Advancer
    from ._interception import Interception
    from ._network import BlockedConnection, NetworkGuard
    from ._shared_tls import SharedTLSContexts
    from ._sleep_watch import KnownSleep, RealSleep

__all__ = ["InterceptionControls"]


class InterceptionControls:
    """The back-off, TLS and network-guard side of :class:`~._faults.FaultInjector`."""

    clock: Advancer | None
    _interception: Interception
    _outer_guard: NetworkGuard | None

    def virtual_backoff(self, *modules: str | ModuleType) -> None:
        """Make the back-off of the app's own retry loops in ``modules`` (names or modules)
        virtual, as the retry libraries' is: while a clock is attached, ``time.sleep``,
        ``asyncio.sleep`` and ``anyio.sleep`` called through the modules those hold (under any
        name), a ``sleep`` imported from them, or one held as a default argument of a function
        or method they define move the clock instead, each delay in
        :attr:`retry_sleeps`; ``sleep(0)`` stays a plain checkpoint. Until the injector stops,
        and in the threads that serve the test only: a background thread (a poller) sleeps for
        real. A module with none of those names raises ``ValueError``."""
        self._interception.own_backoff(modules)

    def _include_aside(self, modules: Mapping[str, ModuleType]) -> None:
        """An app built from a copy of its package imported aside backs off through that
        copy's modules: those named in :meth:`virtual_backoff` are reached there too."""
        self._interception.include_aside(modules)

    def _share_tls(self, contexts: SharedTLSContexts) -> None:
        """Hand out ``contexts`` (a session's, kept across tests) instead of the injector's
        own; before the start."""
        self._interception.tls = contexts

    def _share_guard(self, guard: NetworkGuard) -> None:
        """Report what ``guard`` (a harness's, which refuses connections off the machine for
        the whole test) refused in :attr:`blocked` and :meth:`problems_report`, as this
        injector's own guard's."""
        self._outer_guard = guard

    @property
    def _network_guard(self) -> NetworkGuard | None:
        return self._interception.guard or self._outer_guard

    def intercept_imported(self) -> None:
        """Reach the network transports of client libraries imported since :meth:`start`
        (the aiohttp transports of httpx-aiohttp and of the AI SDKs), and the retry libraries
        whose back-off the clock moves. It runs by itself after each such import; kept for
        code that calls it."""
        self._interception.catch_up()

    @property
    def blocked(self) -> list[BlockedConnection]:
        """Outbound connections refused by the network guard: ``(host, port, via)``."""
        guard = self._network_guard
        return list(guard.blocked) if guard is not None else []

    @property
    def real_sleeps(self) -> list[float]:
        """The seconds slept for real in the threads that serve the test: without a clock, the
        retry back-off of the AI SDKs, the retry libraries and the app's named modules, then
        the ``time.sleep`` calls of other modules (botocore's retries); with one,
        the sleeps it did not move for (its ``real_sleeps``: a module not named for virtual
        back-off). Empty means the test waited for no sleep; the fixtures warn of either."""
        unknown = self._interception.unknown_sleeps
        under_clock = getattr(self.clock, "real_sleeps", None) or []
        return [
            *self._interception.real_sleeps,
            *(seconds for _, seconds in unknown),
            *(seconds for _, seconds in under_clock),
        ]

    def _real_sleeps_by_kind(self) -> tuple[list[KnownSleep], list[RealSleep]]:
        """:attr:`real_sleeps` of the back-off the injector knows, and ``(module, seconds)``
        of the others (for the fixture's warnings)."""
        return list(self._interception.real_sleeps), self._interception.unknown_sleeps

    def _unwatched(self) -> contextlib.AbstractContextManager[None]:
        """Real sleeps not recorded inside (an app's startup and shutdown: not back-off)."""
        return self._interception.watch.paused()

    @property
    def retry_sleeps(self) -> list[float]:
        """The retry back-off delays (the AI SDKs' and the retry libraries') that moved
        the clock instead of sleeping."""
        return list(self._interception.sleeps)
