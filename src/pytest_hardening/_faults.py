"""FaultInjector: per-provider fault scripts served through a respx router, with a call log."""

from __future__ import annotations

import asyncio
import random as _random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, NamedTuple, Protocol

import httpx
import respx

from ._providers import Provider, ProviderSpec, match_provider, normalize_providers

__all__ = ["Call", "FaultInjector", "UnregisteredHostError"]

_GARBAGE = b'<html><body>502 Bad Gateway</body></html>{"truncated": '
_TIMEOUTS: dict[str, type[httpx.TimeoutException]] = {
    "read": httpx.ReadTimeout,
    "connect": httpx.ConnectTimeout,
    "write": httpx.WriteTimeout,
    "pool": httpx.PoolTimeout,
}


class _Advancer(Protocol):
    def advance(self, seconds: float) -> None: ...


class Call(NamedTuple):
    """One outbound request and what the injector made of it (e.g. ``"ok 200"``,
    ``"fail 503"``, ``"refuse ConnectError"``, ``"timeout ReadTimeout"``)."""

    request: httpx.Request
    outcome: str


class UnregisteredHostError(httpx.ConnectError):
    """Raised into the app for a request to a host no provider owns (no real network)."""


Action = Callable[[httpx.Request], tuple[httpx.Response, str]]


class _Script:
    """One fault: ``action`` for the next ``remaining`` calls (``None``: until healed)."""

    def __init__(self, kind: str, actions: Sequence[Action] | Action, times: int | None) -> None:
        self.kind = kind
        if callable(actions):
            self._actions: list[Action] | None = None
            self._action: Action | None = actions
            self.remaining = times
        else:
            self._actions = list(actions)
            self._action = None
            self.remaining = len(self._actions)

    def take(self) -> Action | None:
        if self.remaining is not None and self.remaining <= 0:
            return None
        if self._actions is not None:
            index = len(self._actions) - (self.remaining or 0)
            action: Action | None = self._actions[index]
        else:
            action = self._action
        if self.remaining is not None:
            self.remaining -= 1
        return action


class FaultInjector:
    """Intercept every outbound httpx request (respx patches httpcore, so ASGI test clients are
    untouched) and answer it as the owning provider would, or as the current fault says.

    Each fault method replaces the provider's current fault. ``times=None`` means every call
    until :meth:`heal`; ``times=n`` means the next n calls, then healthy again. A request to a
    host no provider owns gets a ``ConnectError`` and is kept in :attr:`unregistered`.
    """

    def __init__(
        self,
        providers: Mapping[str, ProviderSpec],
        *,
        clock: _Advancer | None = None,
        seed: int | str | None = None,
        history: int = 5,
    ) -> None:
        self.providers: dict[str, Provider] = normalize_providers(providers)
        self.clock = clock
        self.seed = seed
        self.unregistered: list[httpx.Request] = []
        self.misuse: list[str] = []
        self.injected: list[dict[str, Any]] = []
        self._history = history
        self._lock = threading.Lock()
        self._scripts: dict[str, _Script] = {}
        self._calls: dict[str, list[Call]] = {name: [] for name in self.providers}
        self._router: respx.MockRouter | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> FaultInjector:
        if self._router is not None:
            raise RuntimeError("FaultInjector is already started")
        router = respx.MockRouter(assert_all_called=False, assert_all_mocked=True)
        router.route().mock(side_effect=self.respond)
        router.start()
        self._router = router
        return self

    def stop(self) -> None:
        router, self._router = self._router, None
        if router is not None:
            router.stop(quiet=True)

    def __enter__(self) -> FaultInjector:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- faults ----------------------------------------------------------------------------
    def fail(self, provider: str, status: int = 503, *, times: int | None = None) -> None:
        def action(request: httpx.Request) -> tuple[httpx.Response, str]:
            body = {"error": "injected failure", "status": status}
            return httpx.Response(status, json=body), f"fail {status}"

        self._set(provider, "fail", action, times, status=status)

    def refuse(self, provider: str, *, times: int | None = None) -> None:
        def action(request: httpx.Request) -> tuple[httpx.Response, str]:
            raise httpx.ConnectError("[Errno 111] Connection refused (injected)", request=request)

        self._set(provider, "refuse", action, times)

    def timeout(self, provider: str, *, kind: str = "read", times: int | None = None) -> None:
        if kind not in _TIMEOUTS:
            raise ValueError(f"timeout kind must be one of {sorted(_TIMEOUTS)}, not {kind!r}")
        error = _TIMEOUTS[kind]

        def action(request: httpx.Request) -> tuple[httpx.Response, str]:
            # A timeout takes that long in reality; only virtual time pays for it here.
            if self.clock is not None:
                self.clock.advance(_request_timeout(request, kind) or 0.0)
            raise error(f"{kind} timeout (injected)", request=request)

        self._set(provider, "timeout", action, times, timeout=kind)

    def latency(self, provider: str, seconds: float, *, times: int | None = None) -> None:
        """Answer healthily after ``seconds``: the frozen clock is moved when a clock is
        attached (no real waiting). Past the request's own read timeout the call fails with
        ``httpx.ReadTimeout`` after exactly that timeout."""
        healthy = self.providers[self._check(provider)]

        def action(request: httpx.Request) -> tuple[httpx.Response, str]:
            limit = _request_timeout(request, "read")
            if limit is not None and seconds > limit:
                self._advance(limit)
                raise httpx.ReadTimeout(
                    f"read timeout after {limit}s (injected latency {seconds}s)", request=request
                )
            self._advance(seconds)
            response = healthy.respond(request)
            return response, f"latency {seconds}s {response.status_code}"

        self._set(provider, "latency", action, times, seconds=seconds)

    def rate_limit(self, provider: str, *, retry_after: int = 30, times: int | None = None) -> None:
        def action(request: httpx.Request) -> tuple[httpx.Response, str]:
            response = httpx.Response(
                429, headers={"Retry-After": str(retry_after)}, json={"error": "rate limited"}
            )
            return response, "rate_limit 429"

        self._set(provider, "rate_limit", action, times, retry_after=retry_after)

    def garbage(self, provider: str, *, times: int | None = None) -> None:
        def action(request: httpx.Request) -> tuple[httpx.Response, str]:
            headers = {"Content-Type": "application/json"}
            return httpx.Response(200, headers=headers, content=_GARBAGE), "garbage 200"

        self._set(provider, "garbage", action, times)

    def sequence(self, provider: str, outcomes: Sequence[Any]) -> None:
        """Script the next calls one by one: an int status, an exception class (httpx
        errors get the request), ``"ok"``, ``"refuse"``, ``"timeout"`` or ``"garbage"``."""
        healthy = self.providers[self._check(provider)]
        actions = [self._step(healthy, outcome) for outcome in outcomes]
        self._set(provider, "sequence", actions, None, outcomes=[_label(o) for o in outcomes])

    def random(
        self, provider: str, rate: float, *, status: int = 503, seed: int | str | None = None
    ) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be within [0, 1], not {rate}")
        healthy = self.providers[self._check(provider)]
        used = seed if seed is not None else f"{self.seed}:{provider}"
        rng = _random.Random(used)

        def action(request: httpx.Request) -> tuple[httpx.Response, str]:
            if rng.random() < rate:
                return httpx.Response(status, json={"error": "injected failure"}), f"fail {status}"
            response = healthy.respond(request)
            return response, f"ok {response.status_code}"

        self._set(provider, "random", action, None, rate=rate, status=status, seed=str(used))

    def heal(self, provider: str | None = None) -> None:
        with self._lock:
            if provider is None:
                self._scripts.clear()
            else:
                self._scripts.pop(self._check(provider), None)

    # -- inspection ------------------------------------------------------------------------
    def calls(self, provider: str) -> list[Call]:
        with self._lock:
            return list(self._calls[self._check(provider)])

    def history(self, provider: str) -> str:
        """The last few calls to ``provider``, one per line, for failure messages."""
        recent = self.calls(provider)[-self._history :]
        if not recent:
            return f"  (no calls to {provider})"
        return "\n".join(f"  {c.request.method} {c.request.url} -> {c.outcome}" for c in recent)

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

    def unregistered_report(self) -> str | None:
        if not self.unregistered:
            return None
        urls = "\n".join(f"  {r.method} {r.url}" for r in self.unregistered[:10])
        known = "\n".join(f"  {n}: {p.url}" for n, p in self.providers.items()) or "  (none)"
        return (
            f"the app sent {len(self.unregistered)} request(s) to hosts that are not registered "
            f"providers (the app got ConnectError; no real network is used):\n{urls}\n"
            f"registered providers:\n{known}\n"
            "declare the host in the hardening_providers fixture."
        )

    def problems_report(self) -> str | None:
        """Everything that must fail the test even if the app swallowed the error."""
        parts = [p for p in (self.unregistered_report(), *sorted(set(self.misuse))) if p]
        return "\n".join(parts) or None

    # -- internals -------------------------------------------------------------------------
    def _check(self, provider: str) -> str:
        if provider not in self.providers:
            raise KeyError(
                f"unknown provider {provider!r}; registered providers: "
                f"{sorted(self.providers) or 'none (override hardening_providers)'}"
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
        script = _Script(kind, actions, times)
        with self._lock:
            self._scripts[self._check(provider)] = script
            self.injected.append({"provider": provider, "kind": kind, "times": times, **details})

    def _step(self, healthy: Provider, outcome: Any) -> Action:
        def action(request: httpx.Request) -> tuple[httpx.Response, str]:
            if outcome == "ok":
                response = healthy.respond(request)
                return response, f"ok {response.status_code}"
            if outcome == "garbage":
                headers = {"Content-Type": "application/json"}
                return httpx.Response(200, headers=headers, content=_GARBAGE), "garbage 200"
            if isinstance(outcome, int):
                return httpx.Response(outcome, json={"error": "injected"}), f"fail {outcome}"
            if isinstance(outcome, httpx.Response):
                return outcome, f"response {outcome.status_code}"
            error = {"refuse": httpx.ConnectError, "timeout": httpx.ReadTimeout}.get(
                outcome, outcome
            )
            if isinstance(error, type) and issubclass(error, httpx.RequestError):
                raise error(f"{error.__name__} (injected)", request=request)
            if isinstance(error, type) and issubclass(error, BaseException):
                raise error()
            raise ValueError(f"unsupported sequence outcome {outcome!r}")

        if not (
            outcome in ("ok", "garbage", "refuse", "timeout")
            or isinstance(outcome, (int, httpx.Response))
            or (isinstance(outcome, type) and issubclass(outcome, BaseException))
        ):
            raise ValueError(
                f"unsupported sequence outcome {outcome!r}: use a status code, an exception "
                'class, "ok", "refuse", "timeout" or "garbage"'
            )
        return action

    def _advance(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if self.clock is not None:
            self.clock.advance(seconds)
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
                    f"faults.latency({seconds}s) hit async code without a clock: use the "
                    "`clock` fixture (virtual time) with latency faults in async tests"
                )
                with self._lock:
                    self.misuse.append(message)
                raise RuntimeError(message)

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
                f"pytest-hardening: {request.url} is not a registered provider "
                f"(registered: {sorted(self.providers)})",
                request=request,
            )
        with self._lock:
            script = self._scripts.get(provider)
            action = script.take() if script is not None else None
            if script is not None and script.remaining == 0:
                self._scripts.pop(provider, None)
        if action is None:
            response = self.providers[provider].respond(request)
            self._record(provider, Call(request, f"ok {response.status_code}"))
            return response
        try:
            response, outcome = action(request)
        except Exception as error:
            self._record(provider, Call(request, f"{_kind(script)} {type(error).__name__}"))
            raise
        self._record(provider, Call(request, outcome))
        return response

    def _record(self, provider: str, call: Call) -> None:
        with self._lock:
            self._calls[provider].append(call)


def _kind(script: _Script | None) -> str:
    return script.kind if script is not None else "ok"


def _label(outcome: Any) -> str:
    if isinstance(outcome, type):
        return outcome.__name__
    return str(outcome)


def _request_timeout(request: httpx.Request, kind: str) -> float | None:
    timeouts = request.extensions.get("timeout") or {}
    value = timeouts.get(kind)
    return float(value) if value is not None else None
