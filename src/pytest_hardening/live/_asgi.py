"""An ASGI app that serves a ``Callable[[httpx.Request], httpx.Response]`` over real sockets.

It turns the incoming request into an ``httpx.Request``, asks the responder (a healthy fake,
or the plugin's :class:`~pytest_hardening.FaultInjector` in front of one) and writes the answer
back. What the responder *raises* is turned into what a real server would do on the wire:

- ``httpx.TimeoutException`` (the plugin's ``timeout`` fault) → **hang**: hold the request
  without answering for :attr:`Behaviour.hang` seconds, or until the client gives up;
- any other ``httpx.TransportError`` (``refuse`` inside a script) → **drop**: start a response
  and close the connection before its body (the client sees a protocol error);
- virtual latency (the plugin's ``latency`` fault moves a clock) → a **real** delay.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import httpx

__all__ = ["Behaviour", "HandlerApp", "RealDelayClock", "Responder"]

Responder = Callable[[httpx.Request], httpx.Response]
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_DELAYS: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "live_delays", default=None
)
# The body is re-sent decoded and whole: its framing and encoding headers are recomputed.
_SKIP_HEADERS = frozenset(
    {b"content-length", b"content-encoding", b"transfer-encoding", b"connection"}
)
#: How often a waiting request checks whether its server is stopping.
_SLICE = 0.05


class RealDelayClock:
    """A clock for ``FaultInjector(clock=...)``: ``advance(s)`` becomes a real delay of ``s``
    seconds before the live answer is sent (without blocking the server's event loop)."""

    def advance(self, seconds: float) -> None:
        delays = _DELAYS.get()
        if delays is not None and seconds > 0:
            delays.append(seconds)


@dataclass
class Behaviour:
    """What one live provider does on the wire beyond the answer itself (mutable, live).

    ``delay``: real seconds added before every answer; ``hang``: how long a timed-out request
    is held before a ``504``; ``held``: while True, every request waits before its answer
    (at most ``hang`` seconds) until released, so a test decides exactly when in-flight
    requests complete; ``stopping``: set on shutdown so waits end at once.
    """

    delay: float = 0.0
    hang: float = 30.0
    held: bool = False
    stopping: bool = False
    _in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def in_flight(self) -> int:
        """Requests received and not answered yet."""
        return self._in_flight

    def _enter(self) -> None:
        with self._lock:
            self._in_flight += 1

    def _leave(self) -> None:
        with self._lock:
            self._in_flight -= 1


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class HandlerApp:
    """ASGI app: ``respond(request)`` behind real sockets; ``origin`` is the server's own
    ``http://127.0.0.1:<port>`` (the request URL the responder sees)."""

    def __init__(
        self,
        respond: Responder,
        origin: Callable[[], str],
        behaviour: Behaviour | None = None,
        *,
        gone: Callable[[httpx.Request], None] | None = None,
    ) -> None:
        self.respond = respond
        self.origin = origin
        self.behaviour = behaviour or Behaviour()
        #: Told of a request whose client left before its answer was sent (the call log
        #: says so: an answer never delivered is not one the client got).
        self.gone = gone

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        behaviour = self.behaviour
        behaviour._enter()
        try:
            await self._serve(scope, receive, send)
        finally:
            behaviour._leave()

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if not message.get("more_body", False):
                break
        request = self._request(scope, bytes(body))
        delays: list[float] = []
        token = _DELAYS.set(delays)
        outcome = "answer"
        try:
            response: httpx.Response | None = self.respond(request)
        except httpx.TimeoutException:
            response, outcome = None, "hang"
        except httpx.TransportError:
            response, outcome = None, "drop"
        except Exception as exc:  # a broken responder: say so, like a real server would
            text = f"live provider handler raised {type(exc).__name__}: {exc}"
            response = httpx.Response(500, text=text)
        finally:
            _DELAYS.reset(token)
        wait = self.behaviour.delay + sum(delays)
        held = self.behaviour.held
        if (wait > 0 and not await self._hold(wait, receive)) or (
            held
            and not await self._hold(
                self.behaviour.hang, receive, until=lambda: not self.behaviour.held
            )
        ):
            if self.gone is not None and outcome == "answer":
                self.gone(request)  # the client gave up while we were slow
            return
        if outcome == "hang":
            if await self._hold(self.behaviour.hang, receive):
                await _send(send, httpx.Response(504, json={"error": "injected hang"}))
            return
        if outcome == "drop":
            # Headers promising a body that never comes, then the connection is closed.
            headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            return
        assert response is not None
        await _send(send, response)

    def _request(self, scope: Scope, body: bytes) -> httpx.Request:
        path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        target = path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
        return httpx.Request(
            scope["method"],
            self.origin() + target,
            headers=[(bytes(k), bytes(v)) for k, v in scope["headers"]],
            content=body,
        )

    async def _hold(
        self, seconds: float, receive: Receive, *, until: Callable[[], bool] | None = None
    ) -> bool:
        """Wait ``seconds`` (real time) or until ``until()`` is true; False as soon as the
        client disconnects."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        gone = asyncio.ensure_future(_until_disconnect(receive))
        try:
            while not self.behaviour.stopping and not (until is not None and until()):
                remaining = deadline - loop.time()
                if remaining <= 0:
                    return True
                done, _ = await asyncio.wait({gone}, timeout=min(remaining, _SLICE))
                if done:
                    return False
            return True
        finally:
            gone.cancel()


async def _send(send: Send, response: httpx.Response) -> None:
    content = response.read()
    headers = [(k.lower(), v) for k, v in response.headers.raw if k.lower() not in _SKIP_HEADERS]
    headers.append((b"content-length", str(len(content)).encode()))
    await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": content})
