"""The fault vocabulary of :class:`~pytest_hardening.FaultInjector`: what each fault answers."""

from __future__ import annotations

import random as _random
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import httpx

from ._error_bodies import error_response
from ._providers import Provider

__all__ = ["OUTCOME", "Action", "FaultMethods", "request_timeout"]

#: An exception attribute naming the call's outcome for the call log, when its type does not.
OUTCOME = "_hardening_outcome"

GARBAGE = b'<html><body>502 Bad Gateway</body></html>{"truncated": '
_TIMEOUTS: dict[str, type[httpx.TimeoutException]] = {
    "read": httpx.ReadTimeout,
    "connect": httpx.ConnectTimeout,
    "write": httpx.WriteTimeout,
    "pool": httpx.PoolTimeout,
}

#: A fault's answer and its call-log outcome; outcome ``None``: the fault did not apply to this
#: call (a stream fault meeting a plain JSON answer), which passes untouched and leaves it armed.
Action = Callable[[httpx.Request], tuple[httpx.Response, str | None]]


class Advancer(Protocol):
    def advance(self, seconds: float) -> None: ...


class Script:
    """One fault: ``action`` for the next ``remaining`` calls (``None``: until healed)."""

    def __init__(self, kind: str, actions: Sequence[Action] | Action, times: int | None) -> None:
        self.kind = kind
        self.taken = 0  # calls it answered: a counted fault never taken is reported unused
        self.replaced_by: str | None = None  # the fault set over it before any call took it
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
        self.taken += 1
        return action

    def give_back(self) -> None:
        """Undo the last :meth:`take`: its action did not apply, so the call did not count."""
        if self.remaining is not None:
            self.remaining += 1
        self.taken -= 1


class InjectorHooks:
    """What the fault methods need of :class:`FaultInjector` (its state and ``_set``)."""

    providers: dict[str, Provider]

    def _check(self, provider: str) -> str:
        raise NotImplementedError

    def _set(
        self,
        provider: str,
        kind: str,
        actions: Sequence[Action] | Action,
        times: int | None,
        **details: Any,
    ) -> None:
        raise NotImplementedError

    def _advance(self, seconds: float, fault: str) -> None:
        """Let ``seconds`` pass for ``fault`` (as set, e.g. ``"latency(2s)"``, for messages)."""
        raise NotImplementedError

    def _for_the_test(self) -> bool:
        """Whether the call being answered is one the test waits for (not a poller's)."""
        raise NotImplementedError

    def _move_clock(self, seconds: float, fault: str) -> None:
        """Move the attached clock ``seconds`` for ``fault``, noting the app's deadlines it
        passes."""
        raise NotImplementedError

    def _hangs(self, fault: str, request: httpx.Request, kind: str) -> str:
        """Note that ``fault`` met a request without a ``kind`` timeout, which would wait for
        ever in production, and return what to raise into the app so the test goes on."""
        raise NotImplementedError


class FaultMethods(InjectorHooks):
    """Fault-setting methods; :class:`FaultInjector` supplies the state and ``_set``."""

    clock: Advancer | None
    seed: int | str | None

    def fail(self, provider: str, status: int = 503, *, times: int | None = None) -> None:
        """Answer ``status``, with the error body of the provider's API (see ``Provider``)."""
        target = self.providers[self._check(provider)]

        def action(request: httpx.Request) -> tuple[httpx.Response, str]:
            return error_response(target, status, {}), f"fail {status}"

        self._set(provider, "fail", action, times, status=status)

    def refuse(self, provider: str, *, times: int | None = None) -> None:
        def action(request: httpx.Request) -> tuple[httpx.Response, str]:
            raise httpx.ConnectError("[Errno 111] Connection refused (injected)", request=request)

        self._set(provider, "refuse", action, times)

    def timeout(
        self,
        provider: str,
        *,
        kind: str = "read",
        times: int | None = None,
        delivered: bool = False,
    ) -> None:
        """The call times out after the client's own timeout (virtual time). ``delivered``:
        the provider got the request and did the work (its healthy handler ran), and only the
        answer was lost: a retry then repeats work that was done (a read timeout only)."""
        if kind not in _TIMEOUTS:
            raise ValueError(f"timeout kind must be one of {sorted(_TIMEOUTS)}, not {kind!r}")
        if delivered and kind != "read":
            raise ValueError(f"a {kind} timeout cannot have been delivered: use kind='read'")
        error = _TIMEOUTS[kind]
        healthy = self.providers[self._check(provider)]

        def action(request: httpx.Request) -> tuple[httpx.Response, str]:
            done = healthy.respond(request).status_code if delivered else None
            limit = request_timeout(request, kind)
            if limit is None:  # no timeout to time out after: production waits for ever
                raise error(self._hangs(f"timeout({kind!r})", request, kind), request=request)
            self._timeout_passes(limit)
            if done is None:
                raise error(f"{kind} timeout (injected)", request=request)
            lost = error(
                f"{kind} timeout (injected; the provider answered {done})", request=request
            )
            # The call log says the work was done (FaultInjector reads this for the outcome).
            setattr(lost, OUTCOME, f"timeout ReadTimeout after the provider answered {done}")
            raise lost

        details: dict[str, Any] = {"timeout": kind}
        if delivered:
            details["delivered"] = True
        self._set(provider, "timeout", action, times, **details)

    def _timeout_passes(self, seconds: float) -> None:
        # A timeout takes that long in reality; only virtual time pays for it here (without
        # a clock it raises at once: no real wait for an injected timeout).
        if self.clock is not None and seconds > 0 and self._for_the_test():
            self._move_clock(seconds, "timeout")

    def latency(self, provider: str, seconds: float, *, times: int | None = None) -> None:
        """Answer healthily after ``seconds``: the frozen clock is moved when a clock is
        attached (no real waiting). Past the request's own read timeout the call fails with
        ``httpx.ReadTimeout`` after exactly that timeout. Concurrent slow calls move the one
        clock in turn (their latencies add up): which calls would have overlapped is unknown
        here."""
        healthy = self.providers[self._check(provider)]

        def action(request: httpx.Request) -> tuple[httpx.Response, str]:
            limit = request_timeout(request, "read")
            if limit is not None and seconds > limit:
                self._advance(limit, f"latency({seconds}s)")
                raise httpx.ReadTimeout(
                    f"read timeout after {limit}s (injected latency {seconds}s)", request=request
                )
            self._advance(seconds, f"latency({seconds}s)")
            response = healthy.respond(request)
            return response, f"latency {seconds}s {response.status_code}"

        self._set(provider, "latency", action, times, seconds=seconds)

    def rate_limit(
        self,
        provider: str,
        *,
        retry_after: int = 30,
        times: int | None = None,
        retry_after_ms: int | None = None,
    ) -> None:
        """Answer 429 with ``Retry-After: retry_after`` (seconds) and, when given, OpenAI's
        ``retry-after-ms`` header (which the OpenAI SDK prefers); the body is the provider
        API's rate-limit error (see ``Provider``)."""
        target = self.providers[self._check(provider)]
        headers = {"Retry-After": str(retry_after)}
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)

        def action(request: httpx.Request) -> tuple[httpx.Response, str]:
            return error_response(target, 429, headers), "rate_limit 429"

        details: dict[str, Any] = {"retry_after": retry_after}
        if retry_after_ms is not None:
            details["retry_after_ms"] = retry_after_ms
        self._set(provider, "rate_limit", action, times, **details)

    def garbage(self, provider: str, *, times: int | None = None) -> None:
        def action(request: httpx.Request) -> tuple[httpx.Response, str]:
            headers = {"Content-Type": "application/json"}
            return httpx.Response(200, headers=headers, content=GARBAGE), "garbage 200"

        self._set(provider, "garbage", action, times)

    def sequence(self, provider: str, outcomes: Sequence[Any]) -> None:
        """Script the next calls one by one: an int status (with the provider API's error
        body, as :meth:`fail`), an ``httpx.Response`` (answered as given: an error body of the
        test's own, such as OpenAI's ``insufficient_quota``), an exception class (httpx errors
        get the request), ``"ok"``, ``"refuse"``, ``"timeout"`` or ``"garbage"``."""
        healthy = self.providers[self._check(provider)]
        actions = [_step(healthy, outcome, self._timeout_passes) for outcome in outcomes]
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
                return error_response(healthy, status, {}), f"fail {status}"
            response = healthy.respond(request)
            return response, f"ok {response.status_code}"

        self._set(provider, "random", action, None, rate=rate, status=status, seed=str(used))


def _step(healthy: Provider, outcome: Any, advance: Callable[[float], None]) -> Action:
    def action(request: httpx.Request) -> tuple[httpx.Response, str]:
        if outcome == "ok":
            response = healthy.respond(request)
            return response, f"ok {response.status_code}"
        if outcome == "garbage":
            headers = {"Content-Type": "application/json"}
            return httpx.Response(200, headers=headers, content=GARBAGE), "garbage 200"
        if isinstance(outcome, int):
            return error_response(healthy, outcome, {}), f"fail {outcome}"
        if isinstance(outcome, httpx.Response):
            return outcome, f"response {outcome.status_code}"
        error = {"refuse": httpx.ConnectError, "timeout": httpx.ReadTimeout}.get(outcome, outcome)
        if isinstance(error, type) and issubclass(error, httpx.TimeoutException):
            # As faults.timeout: the client's own timeout of that kind passes, in virtual time.
            kind = next((k for k, cls in _TIMEOUTS.items() if issubclass(error, cls)), "read")
            advance(request_timeout(request, kind) or 0.0)
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
            f"unsupported sequence outcome {outcome!r}: use a status code, an httpx.Response, "
            'an exception class, "ok", "refuse", "timeout" or "garbage"'
        )
    return action


def _label(outcome: Any) -> str:
    if isinstance(outcome, type):
        return outcome.__name__
    return str(outcome)


def request_timeout(request: httpx.Request, kind: str) -> float | None:
    timeouts = request.extensions.get("timeout") or {}
    value = timeouts.get(kind)
    return float(value) if value is not None else None
