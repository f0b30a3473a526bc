"""What a step sees while a scenario runs: the app's client, faults, clock, breakers, record."""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import httpx

from pytest_hardening.chaos._timeline import Timeline, seconds

T = TypeVar("T")


class FaultsLike(Protocol):
    """The part of the plugin's ``FaultInjector`` the engine drives (methods by name)."""

    def heal(self, provider: str | None = None) -> None: ...

    def calls(self, provider: str) -> Sequence[Any]: ...

    def history(self, provider: str) -> str: ...

    def allow_unused(self) -> None: ...


class ClockLike(Protocol):
    def advance(self, seconds: float) -> None: ...

    def monotonic(self) -> float: ...


class BreakersLike(Protocol):
    @property
    def names(self) -> Sequence[str]: ...

    def state(self, name: str) -> str: ...

    def transitions(self, name: str) -> Sequence[tuple[str, str]]: ...

    def reports_transitions(self, name: str) -> bool: ...

    def transition_times(self, name: str) -> Sequence[float | None]: ...


class ClientLike(Protocol):
    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response: ...


@dataclass(frozen=True)
class Served:
    """A request the scenario sent and the response it got (kept for data checks). A followed
    redirect is two: the request sent, answered 3xx, then the one its client sent next."""

    at: float
    method: str
    path: str
    json: Any
    response: httpx.Response
    data: Any = None  # a form body
    #: Why the body ended part-way ("" when whole): the app failed after it began answering
    #: (a stream whose provider failed); ``response`` then has its status and headers only.
    cut: str = ""


@dataclass
class ChaosContext:
    """Everything a step needs, plus the recorder. Built by the session, one per scenario."""

    app: Any
    client: ClientLike
    faults: FaultsLike
    clock: ClockLike
    breakers: BreakersLike
    seed: int
    timeline: Timeline
    sentry: Any = None
    apm: Any = None
    rng: random.Random = field(default_factory=random.Random)
    failures: list[str] = field(default_factory=list)
    served: list[Served] = field(default_factory=list)
    #: warnings and errors the app logged during the run
    logs: list[str] = field(default_factory=list)
    phase: str = "method"
    #: per breaker, ``(reason, breaker-clock time)`` of each transition, when the breaker says
    reasons: Mapping[str, Sequence[tuple[str, float]]] = field(default_factory=dict)
    _t0: float = 0.0
    _seen: dict[str, int] = field(default_factory=dict)
    _reason_index: dict[str, int] = field(default_factory=dict)
    _entered: dict[str, float] = field(default_factory=dict)
    _run_state: dict[type[Any], Any] = field(default_factory=dict)

    def start(self) -> None:
        self._t0 = self.clock.monotonic()
        self.rng.seed(self.seed)
        for name in self.breakers.names:
            self._seen[name] = len(self.breakers.transitions(name))
            self._reason_index[name] = len(self.reasons.get(name, ()))
            self._entered[name] = 0.0

    def run_state(self, kind: type[T]) -> T:
        """This run's instance of ``kind`` (made with ``kind()`` on first use): typed state
        that app-specific steps share across one run, e.g. an outage still to be undone."""
        if kind not in self._run_state:
            self._run_state[kind] = kind()
        state: T = self._run_state[kind]
        return state

    def run_async(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """``await fn(*args)`` in the app's event loop, where its database engine and clients
        live (the loop the harness's client, Starlette's ``TestClient`` or the plugin's own,
        runs in its portal thread)."""
        portal = getattr(self.client, "portal", None)
        if portal is None:
            raise RuntimeError(
                "run_async needs a client that runs the app in its own event loop "
                "(the harness's sync client, entered); this client has no portal"
            )
        result: T = portal.call(fn, *args)
        return result

    def now(self) -> float:
        """Virtual seconds since the scenario started (rounded: float noise is not news)."""
        return round(self.clock.monotonic() - self._t0, 6)

    def fail(self, message: str) -> None:
        self.failures.append(f"[{self.phase} @{seconds(self.now())}] {message}")

    def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | str | None = None,
        data: Mapping[str, Any] | None = None,
        params: Mapping[str, str] | None = None,
        follow_redirects: bool = True,
    ) -> httpx.Response:
        """Send one request to the app (any method; a JSON, raw or form body; headers on top
        of the session's; a query) and record it on the timeline. Redirects are followed
        unless ``follow_redirects`` is False."""
        kwargs: dict[str, Any] = {}
        if not follow_redirects:  # only when asked: an old requests-based TestClient lacks it
            kwargs["follow_redirects"] = False
        if params:
            kwargs["params"] = dict(params)
        if json is not None:
            kwargs["json"] = json
        if content is not None:
            kwargs["content"] = content
        if data is not None:
            kwargs["data"] = dict(data)
        if headers:
            kwargs["headers"] = dict(headers)
        response, cut = _exchange(self.client, method, path, kwargs)
        at = self.now()
        # Each hop of a followed redirect as the app answered it: the POST's 303, then the
        # GET its client sent (not the POST counted under the final 200).
        for i, hop in enumerate((*response.history, response)):
            hop_method, hop_path = method, path
            if i:
                hop_method, hop_path = hop.request.method, hop.request.url.path
            request_id = hop.headers.get("x-request-id", "")
            last = hop is response
            self.timeline.request(
                at, hop_method, hop_path, hop.status_code, request_id, cut=bool(cut and last)
            )
            sent = (json, data) if not i else (None, None)
            served = Served(at, hop_method, hop_path, sent[0], hop, sent[1], cut if last else "")
            self.served.append(served)
        self.observe()
        return response

    def observe(self) -> None:
        """Record breaker transitions that happened since the last look."""
        now = self.now()
        for name in self.breakers.names:
            # One made during the run (on first use) started CLOSED, as the inspector reads it:
            # on the timeline from then on, whether or not it ever changes state.
            self.timeline.initial.setdefault(name, "CLOSED")
            seen = self._seen.get(name, 0)
            new = list(self.breakers.transitions(name))[seen:]
            log = self.reasons.get(name, ())
            reported = self.breakers.reports_transitions(name)
            # A listener's transition is logged as it happens: during a request, not after it.
            times = list(self.breakers.transition_times(name))[seen:] if reported else []
            for i, (from_state, to_state) in enumerate(new):
                at, reason, exact = now, "", reported
                stamp = times[i] if i < len(times) else None
                if stamp is not None:
                    at = min(now, round(stamp - self._t0, 6))
                index = self._reason_index.get(name, 0)
                if index < len(log):
                    reason, breaker_at = log[index]
                    at, exact = round(breaker_at - self._t0, 6), True
                    self._reason_index[name] = index + 1
                # Seen at a later look: how long it stayed in the previous state is unknown.
                elapsed = at - self._entered.get(name, 0.0) if exact else None
                label = _label(reason, str(from_state), str(to_state), elapsed)
                self.timeline.breaker_changed(
                    at, name, str(from_state), str(to_state), label, seen=not exact
                )
                self._entered[name] = at
            self._seen[name] = seen + len(new)
        self.timeline.finish(now)


def _exchange(
    client: ClientLike, method: str, path: str, kwargs: dict[str, Any]
) -> tuple[httpx.Response, str]:
    """The app's answer, and why its body ended part-way ("" when whole). A client of a real
    server gets the status and headers of an answer the app cut, then a broken body: the
    answer is recorded (its status, no body), not lost with the error."""
    stream = getattr(client, "stream", None)
    if stream is None:  # a requests-based TestClient (old Starlette): whole, or the error
        return client.request(method, path, **kwargs), ""
    with stream(method, path, **kwargs) as response:
        try:
            response.read()
        except Exception as error:  # httpx's or httpx2's RemoteProtocolError
            if type(error).__name__ != "RemoteProtocolError":
                raise
            headers = [
                (k, v)
                for k, v in response.headers.multi_items()
                if k.lower() not in ("content-length", "content-encoding")
            ]
            empty = type(response)(
                response.status_code,
                headers=headers,
                content=b"",
                request=response.request,
                history=response.history,
            )
            return empty, str(error)
    return response, ""


_FAILS = re.compile(r"^(\d+) consecutive failures?$")
_OKS = re.compile(r"^(\d+) probe success(?:es)?$")


def _label(reason: str, from_state: str, to_state: str, elapsed: float | None) -> str:
    """A short arrow label: ``5 fails``, ``60s``, ``2 ok``, ``probe failed``, ``forced``."""
    if from_state == "OPEN" and to_state == "HALF_OPEN":
        return seconds(elapsed) if elapsed is not None else ""
    if match := _FAILS.match(reason):
        return f"{match.group(1)} fails"
    if match := _OKS.match(reason):
        return f"{match.group(1)} ok"
    return reason
