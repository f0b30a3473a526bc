"""The harness's world outside the app: frozen time, providers answered in memory, and the
network refused. A part of :class:`~._harness.Harness` (whose state it keeps), apart for its
size: faults and clock know each other whichever starts first, and one network guard serves
both the harness and the fault injector, for one report.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._breakers import BreakerInspector
    from ._clock import Clock
    from ._clock_backoff import ClockBackoff
    from ._faults import FaultInjector
    from ._network import NetworkGuard
    from ._providers import ProviderSpec
    from ._reuse import AppPool

__all__ = ["HarnessProviders"]


class HarnessProviders:
    """Clock, network guard and fake providers of the harness (see :class:`~._harness.Harness`)."""

    seed: int | str | None
    epoch: dt.datetime | None
    _pool: AppPool | None
    _stack: contextlib.ExitStack
    _clock: Clock | None
    _backoff: ClockBackoff | None
    _aside_modules: dict[str, ModuleType]
    _faults: FaultInjector | None
    _network: NetworkGuard | None
    _refuses_network: bool
    _breakers: BreakerInspector | None

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
                self._stack.callback(self._clock.before_advance(self._breakers.look))
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
            if self._aside_modules:  # an app already built from a copy aside
                injector._include_aside(self._aside_modules)
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
