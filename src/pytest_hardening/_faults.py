"""FaultInjector: per-provider fault scripts served to httpx (through a respx router) and httpx2
(through its transports), with a call log and no way out to the real network."""

from __future__ import annotations

import asyncio
import email.utils
import threading
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import httpx

from ._fault_advice import FIXTURES, Advice
from ._fault_calls import Call, CallLog, redacted
from ._fault_interception import InterceptionControls
from ._fault_reports import FaultReports
from ._fault_scripts import OUTCOME, Action, Advancer, FaultMethods, Script
from ._interception import Interception
from ._network import NetworkGuard
from ._providers import (
    Provider,
    ProviderSpec,
    match_provider,
    normalize_providers,
    provider_of_host,
)
from ._stream_faults import StreamFaultMethods
from ._virtual_time import in_background, moving_for

__all__ = ["FaultInjector", "RealSleepWarning", "UnregisteredHostError"]


class UnregisteredHostError(httpx.ConnectError):
    """Raised into the app for a request to a host no provider owns (no real network)."""


class RealSleepWarning(UserWarning):
    """A test's retry back-off slept for real under faults, for want of a clock."""


class FaultInjector(FaultMethods, StreamFaultMethods, InterceptionControls, FaultReports):
    """Intercept every outbound httpx and httpx2 request (a provider's in httpx's own
    transports, the rest through respx, which patches httpcore; httpx2's network transports and
    the aiohttp transports for both are patched; ASGI test clients are untouched) and answer it
    as the owning provider would, or as the current fault says.

    Each fault method replaces the provider's current fault. ``times=None`` means every call
    until :meth:`heal`; ``times=n`` means the next n calls, then healthy again. A request to a
    host no provider owns gets a ``ConnectError`` and is kept in :attr:`unregistered`.

    With ``block_network=True`` (the default) any other outbound connection off this machine
    (urllib, aiohttp, raw sockets ...) is refused and kept in :attr:`blocked`; both end up in
    :meth:`problems_report`. With a clock attached, the retry back-off of the OpenAI/Anthropic
    SDKs and of the retry libraries (tenacity, stamina, backoff, httpx-retries, retrying), and
    of the app's own retry loops in the modules named to :meth:`virtual_backoff`, moves the
    clock instead of sleeping (each delay in :attr:`retry_sleeps`). While started, httpx
    and httpx2 clients with the default TLS settings share one TLS context (no request needs
    one): an app that opens a client per request does not load the CA bundle for each.
    """

    def __init__(
        self,
        providers: Mapping[str, ProviderSpec],
        *,
        clock: Advancer | None = None,
        seed: int | str | None = None,
        history: int = 5,
        block_network: bool = True,
    ) -> None:
        self.providers: dict[str, Provider] = normalize_providers(providers)
        self.clock = clock
        self.seed = seed
        self.unregistered: list[httpx.Request] = []
        self.misuse: list[str] = []
        self.injected: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._scripts: dict[str, Script] = {}
        self._armed: list[tuple[str, Script, dict[str, Any]]] = []  # every fault set
        self._allow_unused = False
        self._allow_blocked = False
        self._allow_unregistered = False
        #: Where the reports' advice points (the chaos harness sets its own).
        self.advice: Advice = FIXTURES
        self._log = CallLog(self.providers, history=history)
        self._outer_guard: NetworkGuard | None = None
        self._interception = Interception(
            self.respond,
            lambda url: match_provider(self.providers, url) is not None,
            lambda: self.clock,
            block_network=block_network,
        )

    # -- lifecycle (back-off, TLS and guard settings, sleeps seen: _fault_interception) ---
    def start(self) -> FaultInjector:
        if self._interception.started:
            raise RuntimeError("FaultInjector is already started")
        self._interception.start()
        return self

    def stop(self) -> None:
        self._interception.stop()

    def __enter__(self) -> FaultInjector:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- faults (the vocabulary lives in _fault_scripts and _stream_faults) ---------------
    def heal(self, provider: str | None = None) -> None:
        with self._lock:
            if provider is None:
                self._scripts.clear()
            else:
                self._scripts.pop(self._check(provider), None)

    # -- inspection ------------------------------------------------------------------------
    def active(self) -> list[str]:
        """``provider: fault`` for each fault still armed (until healed, or with calls left)."""
        with self._lock:
            return [
                f"{provider}: {script.kind}"
                for provider, script in self._scripts.items()
                if script.remaining is None or script.remaining > 0
            ]

    def calls(self, provider: str) -> list[Call]:
        return self._log.calls(self._check(provider))

    def history(self, provider: str) -> str:
        """The last few calls to ``provider``, one per line, for failure messages."""
        return self._log.history(self._check(provider))

    def recent(self) -> str:
        """The last few calls to any provider, oldest first, one per line (for the failure
        messages of other parts: a breaker that did not open, say); empty without calls."""
        return self._log.recent()

    def assert_called(self, provider: str, *, times: int | None = None) -> list[Call]:
        __tracebackhide__ = True
        calls = self.calls(provider)
        if (times is None and not calls) or (times is not None and len(calls) != times):
            expected = "at least one call" if times is None else f"{times} call(s)"
            raise AssertionError(
                f"expected {expected} to provider {provider!r}, got {len(calls)}.\n"
                f"recent calls:\n{self.history(provider)}"
            )
        return calls

    def allow_unused(self) -> None:
        """Do not fail the test for faults that no call met."""
        self._allow_unused = True

    def allow_blocked(self) -> None:
        """Do not fail the test for connections off the machine the guard refused: the test
        checks them itself (:attr:`blocked`), e.g. that the app copes with a client the
        plugin does not fake finding no network. They are still refused."""
        self._allow_blocked = True

    def allow_unregistered(self) -> None:
        """Do not fail the test for requests to hosts no provider names: the test checks them
        itself (:attr:`unregistered`), e.g. that the app copes with an unknown host. They are
        still answered with ``UnregisteredHostError``, never sent."""
        self._allow_unregistered = True

    def provider_of_host(self, host: str) -> str | None:
        """The registered provider whose URL names ``host``, if any."""
        return provider_of_host(self.providers, host)

    # -- internals -------------------------------------------------------------------------
    def _check(self, provider: str) -> str:
        if provider not in self.providers:
            raise KeyError(
                f"unknown provider {provider!r}; registered providers: "
                f"{sorted(self.providers) or f'none (declare them in {self.advice.providers})'}"
            )
        return provider

    def _set(
        self,
        provider: str,
        kind: str,
        actions: Sequence[Action] | Action,
        times: int | None,
        **details: Any,
    ) -> None:
        if times is not None and times < 0:
            raise ValueError(f"times must be >= 0 or None, not {times}")
        script = Script(kind, actions, times)
        with self._lock:
            replaced = self._scripts.get(self._check(provider))
            if replaced is not None and replaced.taken == 0:
                replaced.replaced_by = kind  # faults do not queue: this one never ran
            self._scripts[provider] = script
            if script.remaining != 0:  # times=0 asks for no call
                self._armed.append((provider, script, {"times": times, **details}))
            self.injected.append({"provider": provider, "kind": kind, "times": times, **details})

    def _for_the_test(self) -> bool:
        # A poller's or another background thread's call meets a slow fault at once: no test
        # waits for it, and moving the test's clock would let its breakers half-open with no
        # clock.advance, by however far the poller got in real time.
        return not in_background() and self._interception.threads.serving()

    def _advance(self, seconds: float, fault: str) -> None:
        if seconds <= 0:
            return
        if not self._for_the_test():
            return
        if self.clock is not None:
            self._move_clock(seconds, fault)
        else:
            # No clock: the only honest latency is a real wait, outside any event loop.
            try:
                asyncio.get_running_loop()
            except RuntimeError:
                time.sleep(seconds)
            else:
                # Sleeping here would block the event loop; the app may swallow this error,
                # so it is also kept for the teardown report.
                message = (
                    f"faults.{fault} met a call made in an event loop (the app's async code) "
                    f"without a clock: its {seconds}s wait would block the loop, so this error "
                    "was raised into the app instead; add the `clock` fixture to the test "
                    f"(virtual time) for {fault.partition('(')[0]} faults on an async app, even "
                    "from a sync test"
                )
                with self._lock:
                    self.misuse.append(message)
                raise RuntimeError(message)

    def _hangs(self, fault: str, request: httpx.Request, kind: str) -> str:
        message = (
            f"faults.{fault} met a request to {request.url.host} with no {kind} timeout (an "
            "httpx client made with timeout=None): against a provider that stops answering it "
            "waits for ever in production. The fault raised a timeout into the app so that the "
            f"test could go on; give that client a {kind} timeout (httpx.Timeout), and the "
            "fault times out after it"
        )
        with self._lock:
            self.misuse.append(message)
        return message

    def _move_clock(self, seconds: float, fault: str) -> None:
        assert self.clock is not None
        with moving_for(f"a {fault} fault"):  # named if it passes a deadline of the loop
            self.clock.advance(seconds)

    def respond(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` as the matching provider would under the active faults.

        This is what the respx router calls for every outbound request; other transports
        (e.g. live fake-provider servers) call it to serve the same faults and healthy
        behaviour. The call is recorded in :meth:`calls`. Raises the fault's httpx exception
        (connect refused, timeouts) as a transport would, and :class:`UnregisteredHostError`
        for a URL that matches no registered provider (also kept for the teardown report).
        """
        provider = match_provider(self.providers, request.url)
        if provider is None:
            with self._lock:
                self.unregistered.append(request)
            raise UnregisteredHostError(
                f"pytest-hardening: {redacted(request.url)} is not a registered provider "
                f"(registered: {sorted(self.providers)})",
                request=request,
            )
        with self._lock:
            script = self._scripts.get(provider)
            action = script.take() if script is not None else None
        if action is None or script is None:
            response = _dated(self.providers[provider].respond(request))
            self._record(provider, Call(request, f"ok {response.status_code}"))
            return response
        try:
            response, outcome = action(request)
        except Exception as error:
            outcome = getattr(error, OUTCOME, None) or f"{script.kind} {type(error).__name__}"
            self._record(provider, Call(request, outcome))
            raise
        if outcome is None:  # not the fault's kind of answer: it passed, the fault waits
            with self._lock:
                script.give_back()
            outcome = f"ok {response.status_code}"
        self._record(provider, Call(request, outcome))
        return _dated(response)

    def _record(self, provider: str, call: Call) -> None:
        self._log.record(provider, call)

    def _relabel(self, request: httpx.Request, outcome: str) -> None:
        """Update a logged call's outcome (a stream fault knows what it delivered at the end)."""
        self._log.relabel(request, outcome)


def _dated(response: httpx.Response) -> httpx.Response:
    """A ``Date`` header, as every HTTP server sends, when the answer has none: an HTTP cache
    (hishel) ages its entries from it, so a cached answer expires as the clock moves."""
    if "date" not in response.headers:
        response.headers["Date"] = email.utils.formatdate(time.time(), usegmt=True)
    return response
