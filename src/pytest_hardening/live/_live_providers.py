"""LiveProviders: fake providers as real HTTP servers on 127.0.0.1, with live fault injection.

The faults are the plugin's own (:class:`~pytest_hardening.FaultInjector`: same vocabulary,
``times=``, call log and outcome labels), served over real sockets instead of respx. Only the
time-based faults change meaning: here they take real time, so keep them short and point the
client's timeouts below them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import httpx

from pytest_hardening._fault_calls import Call
from pytest_hardening._faults import FaultInjector
from pytest_hardening._providers import Provider

from ._asgi import Behaviour, HandlerApp, RealDelayClock
from ._server import LiveServer

__all__ = ["LiveProviders"]

Healthy = Any  # Callable[[httpx.Request], httpx.Response] | httpx.Response | None


class LiveProviders:
    """Serve each named healthy handler on its own ``127.0.0.1`` port::

        with LiveProviders({"exotel": fakes.exotel, "openai": fakes.openai}) as live:
            env = {"EXOTEL_BASE_URL": live.url("exotel")}
            live.fail("exotel", 503)           # every call answers 503 until healed
            live.hang("exotel", 2.0)           # hold each call 2 s without answering
            live.delay("openai", 0.3)          # answer healthily, 0.3 s late
            live.hold("exotel")                # answer nothing until live.release("exotel")
            live.refuse("exotel")              # stop listening: ECONNREFUSED
            live.heal()                        # everything healthy (and listening) again

    ``live.faults`` is the underlying :class:`~pytest_hardening.FaultInjector` for the rest of
    the vocabulary (``sequence``, ``random``, ``rate_limit`` ...) and the call log.
    """

    def __init__(
        self,
        handlers: Mapping[str, Healthy],
        *,
        seed: int | str | None = None,
        hang: float = 30.0,
        startup_timeout: float = 30.0,
    ) -> None:
        if not handlers:
            raise ValueError("LiveProviders needs at least one provider: {name: handler}")
        self._handlers = dict(handlers)
        self._seed = seed
        self._default_hang = hang
        self._startup_timeout = startup_timeout
        self._servers: dict[str, LiveServer] = {}
        self._behaviours: dict[str, Behaviour] = {}
        self._faults: FaultInjector | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> LiveProviders:
        if self._servers:
            raise RuntimeError("LiveProviders is already started")
        try:
            for name in self._handlers:
                behaviour = Behaviour(hang=self._default_hang)
                server = LiveServer(None, name=name, startup_timeout=self._startup_timeout)
                server.app = HandlerApp(
                    self._respond, _origin(server), behaviour, gone=self._client_gone
                )
                self._behaviours[name] = behaviour
                self._servers[name] = server.start()
        except BaseException:
            self.stop()
            raise
        providers = {
            name: Provider(server.url, healthy=self._handlers[name])
            for name, server in self._servers.items()
        }
        self._faults = FaultInjector(providers, clock=RealDelayClock(), seed=self._seed)
        return self

    def stop(self) -> None:
        for behaviour in self._behaviours.values():
            behaviour.stopping = True
        servers, self._servers = self._servers, {}
        for server in servers.values():
            server.request_stop()  # all at once: each takes a few uvicorn ticks to exit
        errors: list[BaseException] = []
        for server in servers.values():
            try:
                server.join()
            except Exception as exc:  # stop the others anyway, then report
                errors.append(exc)
        self._behaviours.clear()
        if errors:
            raise errors[0]

    def __enter__(self) -> LiveProviders:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------
    @property
    def names(self) -> list[str]:
        return list(self._handlers)

    def url(self, provider: str) -> str:
        """``http://127.0.0.1:<port>`` of ``provider`` (stable across refuse/heal)."""
        return self._server(provider).url

    @property
    def faults(self) -> FaultInjector:
        if self._faults is None:
            raise RuntimeError("LiveProviders is not started: use it as a context manager")
        return self._faults

    # -- faults ----------------------------------------------------------------------------
    def fail(self, provider: str, status: int = 503, *, times: int | None = None) -> None:
        """Answer ``status`` (JSON error body) for the next ``times`` calls (None: until healed)."""
        self.faults.fail(provider, status, times=times)

    def garbage(self, provider: str, *, times: int | None = None) -> None:
        """Answer 200 with an unparseable body."""
        self.faults.garbage(provider, times=times)

    def rate_limit(self, provider: str, *, retry_after: int = 30, times: int | None = None) -> None:
        self.faults.rate_limit(provider, retry_after=retry_after, times=times)

    def hang(self, provider: str, seconds: float = 30.0, *, times: int | None = None) -> None:
        """Hold each call ``seconds`` without answering (then 504), or until the client gives
        up: set the client's timeout below ``seconds`` to see a real timeout."""
        self._behaviour(provider).hang = seconds
        self.faults.timeout(provider, times=times)

    def delay(self, provider: str, seconds: float) -> None:
        """Add ``seconds`` of real latency before every answer of ``provider``, whatever the
        answer is (healthy or a fault: ``fail`` + ``delay`` is a slow 503), until healed."""
        if seconds < 0:
            raise ValueError(f"delay must be >= 0 seconds, not {seconds}")
        self._behaviour(provider).delay = seconds
        self.faults.injected.append({"provider": provider, "kind": "delay", "seconds": seconds})

    def hold(self, provider: str) -> None:
        """Keep every request ``provider`` receives waiting before its answer until
        :meth:`release` (or :meth:`heal`; at most the hang time, default 30 s): the test,
        not a timer, decides when in-flight requests complete."""
        self._behaviour(provider).held = True
        self.faults.injected.append({"provider": provider, "kind": "hold", "live": True})

    def release(self, provider: str) -> None:
        """Let the requests :meth:`hold` kept waiting (and later ones) be answered."""
        self._behaviour(provider).held = False

    def refuse(self, provider: str) -> None:
        """Stop listening on ``provider``'s port: connections are refused (``ECONNREFUSED``)
        until :meth:`heal`. Requests in flight are finished first (delays and hangs cut short)."""
        server = self._server(provider)
        behaviour = self._behaviour(provider)
        behaviour.stopping = True
        try:
            server.stop()
        finally:
            behaviour.stopping = False
        self.faults.injected.append({"provider": provider, "kind": "refuse", "live": True})

    def heal(self, provider: str | None = None) -> None:
        """Back to healthy: scripts cleared, no delay, listening again."""
        names = self.names if provider is None else [self._check(provider)]
        self.faults.heal(provider)
        for name in names:
            behaviour = self._behaviour(name)
            behaviour.delay, behaviour.hang, behaviour.held = 0.0, self._default_hang, False
            self._server(name).start()  # a no-op unless refused

    # -- inspection ------------------------------------------------------------------------
    def calls(self, provider: str) -> list[Call]:
        """Requests the provider received, in order, with the plugin's outcome labels; one
        whose client left before its answer was sent (a delay past the client's timeout) is
        marked ``(client gone)``: ``ok 200 (client gone)``."""
        return self.faults.calls(provider)

    def history(self, provider: str) -> str:
        return self.faults.history(provider)

    def in_flight(self, provider: str) -> int:
        """Requests ``provider`` has received and not answered yet (e.g. delayed or hanging)."""
        return self._behaviour(provider).in_flight

    def wait_in_flight(self, provider: str, count: int, *, timeout: float = 5.0) -> None:
        """Block until ``provider`` holds at least ``count`` unanswered requests."""
        __tracebackhide__ = True
        deadline = time.monotonic() + timeout
        while self.in_flight(provider) < count:
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"expected {count} request(s) in flight at live provider {provider!r} "
                    f"within {timeout}s, saw {self.in_flight(provider)}.\n"
                    f"recent calls:\n{self.history(provider)}\n"
                    "is the app pointed at this provider's url() and is the provider delayed?"
                )
            time.sleep(0.01)

    # -- internals -------------------------------------------------------------------------
    def _respond(self, request: httpx.Request) -> httpx.Response:
        # The injector matches the request URL (this server's origin) to its provider, applies
        # the active fault script or the healthy handler, and records the call.
        return self.faults.respond(request)

    def _client_gone(self, request: httpx.Request) -> None:
        """The call answered for ``request`` was never delivered: its client left first (its
        own timeout, during a delay). Logged as ``ok 200 (client gone)``."""
        for provider in self.faults.providers:
            for call in reversed(self.faults.calls(provider)):
                if call.request is request:
                    self.faults._relabel(request, f"{call.outcome} (client gone)")
                    return

    def _check(self, provider: str) -> str:
        if provider not in self._handlers:
            raise KeyError(
                f"unknown live provider {provider!r}; this LiveProviders serves "
                f"{sorted(self._handlers)}"
            )
        return provider

    def _server(self, provider: str) -> LiveServer:
        server = self._servers.get(self._check(provider))
        if server is None:
            raise RuntimeError("LiveProviders is not started: use it as a context manager")
        return server

    def _behaviour(self, provider: str) -> Behaviour:
        self._server(provider)
        return self._behaviours[provider]


def _origin(server: LiveServer) -> Callable[[], str]:
    return lambda: server.url
