"""One request's ASGI messages between the app, a task of the portal's loop, and the caller.

The app side of :class:`~._portal_transport.PortalTransport`: it answers the app's
``receive`` and ``send``, keeps what the app sent until the caller takes the response (the
start, the first body messages, trailers, templates' debug info), and tells the caller when
the body turns out to be streamed. The rest of a streamed body is then handed over one
message per portal call, with back-pressure; what the app sends after its caller left is
dropped, and an app that never sees it is cancelled. Apart from the transport because it
lives in the app's loop, the transport in the caller's thread.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
from typing import Any

import anyio
import anyio.lowlevel

from ._stream_readers import LEAVING_TURNS, READER
from ._virtual_time import serving_request

__all__ = ["IGNORED_SENDS", "Exchange"]

#: Messages an app may send after its client left before it is cancelled: one in flight, a
#: few more while it sees the disconnect; an app that never listens for one goes on for ever.
IGNORED_SENDS = 16

_Message = dict[str, Any]
_DEBUG_MESSAGES = ("http.response.debug", "http.response.template")


class Exchange:
    """One request's messages, between the app (in the portal's loop) and the caller."""

    def __init__(self, scope: _Message, request_body: bytes, *, body: bool = True) -> None:
        self.scope = scope
        self.request_body = request_body
        self.keep_body = body  # False for HEAD: the caller gets no body, as with TestClient
        self.start: _Message | None = None
        self.head: list[bytes] = []  # body messages sent before the caller took the response
        self.trailers: list[tuple[bytes, bytes]] = []
        self.trailers_expected = False
        self.debug: dict[str, Any] | None = None
        self.body_complete = False  # the last body message (no more_body) was sent
        # Set (from the loop) when the body turns out to be streamed: the caller stops waiting.
        self.streaming: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._requested = False
        self._complete: anyio.Event | None = None
        self._scope_cancel: anyio.CancelScope | None = None
        self._left = False  # the caller closed the body early: what the app sends is dropped
        self._ignored = 0  # messages the app sent after that
        self._tx: Any = None
        self._rx: Any = None
        self._asked_for = 0  # chunks the caller asked for (next_chunk)
        self._handed = 0  # chunks the app handed it
        self._asked: anyio.Event | None = None  # set when it asks for one, or leaves

    @property
    def status(self) -> int | None:
        """The status the app answered, once it started its response."""
        return None if self.start is None else int(self.start["status"])

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        assert self.start is not None
        return list(self.start.get("headers", []))

    async def serve(self, app: Any) -> None:
        self._complete = anyio.Event()
        self._tx, self._rx = anyio.create_memory_object_stream[bytes](0)
        reader = READER.set(self)  # the app's tasks know who reads its answer
        with anyio.CancelScope() as self._scope_cancel, serving_request():
            try:
                await app(self.scope, self._receive, self._send)
            finally:
                READER.reset(reader)
                self._complete.set()
                self._tx.close()
                # Unbuffered: every chunk sent was taken, so nothing is left to read. Closed here
                # for the responses that never stream too (unclosed, each is a ResourceWarning,
                # an error in suites that turn warnings into errors).
                self._rx.close()

    async def _receive(self) -> _Message:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": self.request_body, "more_body": False}
        assert self._complete is not None
        await self._complete.wait()  # a disconnect only once the response is over
        return {"type": "http.disconnect"}

    async def _send(self, message: _Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            if self.start is not None:
                raise RuntimeError('received a second "http.response.start" message')
            self.start = message
            self.trailers_expected = bool(message.get("trailers", False))
            if self.keep_body and not any(
                name.lower() == b"content-length" for name, _ in message.get("headers", [])
            ):
                # No length: a stream (server-sent events, a StreamingResponse), whose first
                # chunk may come much later. A server sends the headers now, and its client
                # may leave (cancelling the app) before any chunk: hand the response over.
                self.streaming.set_result(None)
        elif kind == "http.response.body":
            if self.start is None:
                raise RuntimeError('received "http.response.body" before "http.response.start"')
            chunk = bytes(message.get("body", b"")) if self.keep_body else b""
            more = bool(message.get("more_body", False))
            if self._left:
                await self._after_leaving()
                return
            if self.streaming.done():
                await self._tx.send(chunk)  # waits for the caller: back-pressure
                self._handed += 1
            else:
                self.head.append(chunk)
                if more:
                    self.streaming.set_result(None)
            self.body_complete = not more
            if not more and not self.trailers_expected:
                assert self._complete is not None
                self._complete.set()
        elif kind == "http.response.trailers":
            self.trailers.extend(message.get("headers", []))
            if not message.get("more_trailers", False):
                assert self._complete is not None
                self._complete.set()
        elif kind in _DEBUG_MESSAGES:
            self.debug = message.get("info", message)

    async def next_chunk(self) -> bytes | None:
        self._asked_for += 1
        if self._asked is not None:
            self._asked.set()
        try:
            chunk: bytes = await self._rx.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):  # the app has finished
            return None
        return chunk

    async def wants_more(self) -> None:
        """Return once the caller asks for more of a streamed answer (or has not taken the
        response yet: it waits for it), or has left it; after leaving, the app's own
        cancellation on the disconnect comes first (a few turns of the loop)."""
        # Counted, not flagged: the caller's call may not have woken from the chunk it got.
        while not (self._left or self._asked_for > self._handed or not self.streaming.done()):
            self._asked = anyio.Event()
            await self._asked.wait()
        if self._left:
            for _ in range(LEAVING_TURNS):
                await anyio.lowlevel.checkpoint()

    def cancel(self) -> None:
        if self._scope_cancel is not None:
            self._scope_cancel.cancel()

    def leave(self) -> None:
        """The caller closed the body early: the app is told (``http.disconnect``), a send it
        is blocked in returns, and what it sends after is dropped, as a server does; it then
        ends by itself (a streamed response stops, its background tasks run)."""
        self._left = True
        if self._asked is not None:
            self._asked.set()
        if self._complete is not None:
            self._complete.set()
        if self._rx is not None:
            with contextlib.suppress(
                anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError
            ):
                self._rx.receive_nowait()  # a send waiting for the caller

    async def _after_leaving(self) -> None:
        # An app that goes on sending after the disconnect never listens for one: cancelled
        # (a server would let it run until its generator ends).
        self._ignored += 1
        if self._ignored > IGNORED_SENDS:
            self.cancel()
        await anyio.lowlevel.checkpoint()
