"""The async hardened client's streamed answers, on asyncio: headers first, then the body as
the app sends it.

``httpx.ASGITransport`` runs the app to its end before it answers: a streamed response (server-
sent events, a download) reaches the test whole, an endless one never, and a client that
leaves early cannot cancel the app (it waited out a retry loop before its first chunk). Here
the app runs as a task of the test's loop; the response is handed over when the app starts an
answer without a ``content-length``, or sends a body message with ``more_body``, and its body
is read as the app sends it, with back-pressure. Closing the response early tells the app the
client left (``http.disconnect``) and cancels it. An answer the app sends whole comes back
whole, as before. asyncio only: trio has no task that outlives the call that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Any

import httpx

from ._app_errors import cut_error, log_app_error
from ._portal_exchange import IGNORED_SENDS
from ._portal_transport import LEAVING_GRACE, http_scope
from ._stream_readers import LEAVING_TURNS, READER
from ._virtual_time import serving_request

__all__ = ["CutBody", "serve_streaming"]

_Message = MutableMapping[str, Any]
_END = object()  # the last body message was taken


async def serve_streaming(
    app: Callable[[_Message, Any, Any], Awaitable[None]], request: httpx.Request
) -> httpx.Response:
    """``request`` served by ``app`` in this loop; an exception before the answer started is a
    500, one part-way through its body cuts it (both logged, as ``AppTransport`` does)."""
    exchange = _Exchange(await request.aread(), keep_body=request.method != "HEAD")
    scope = http_scope(request, client=("127.0.0.1", 123))  # httpx's own transport's
    task = asyncio.get_running_loop().create_task(exchange.run(app, scope))
    await asyncio.wait({task, exchange.streaming}, return_when=asyncio.FIRST_COMPLETED)
    if exchange.start is None:  # failed (or returned) before answering
        await asyncio.wait({task})
        return httpx.Response(500, request=request)
    status, headers = int(exchange.start["status"]), exchange.start.get("headers", [])
    if not task.done():
        stream: httpx.AsyncByteStream = _Streamed(exchange, task)
    elif exchange.error is not None and not exchange.complete:
        stream = CutBody(b"".join(exchange.head), cut_error(httpx, status, exchange.error))
    else:
        stream = httpx.ByteStream(b"".join(exchange.head))
    return httpx.Response(status, headers=headers, stream=stream, request=request)


class _Exchange:
    """One request's messages between the app's task and the test's reader."""

    def __init__(self, body: bytes, *, keep_body: bool) -> None:
        self._body: bytes | None = body
        self._keep_body = keep_body
        self.start: _Message | None = None
        self.head: list[bytes] = []  # body sent before the reader took over
        self.complete = False
        self.error: Exception | None = None
        self.streaming: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.chunks: asyncio.Queue[Any] = asyncio.Queue(maxsize=1)  # back-pressure
        self.left = asyncio.Event()  # the response is over, or the client left
        self.gone = False  # the client left early: what the app sends is dropped
        self._ignored = 0  # messages the app sent after that
        self.asked_for = 0  # chunks the reader asked for
        self.put = 0  # chunks the app sent to it
        self.asked = asyncio.Event()  # set when the reader asks for one, or leaves

    async def run(self, app: Callable[..., Awaitable[None]], scope: _Message) -> None:
        READER.set(self)  # this task's own context: the app's tasks know who reads its answer
        try:
            with serving_request():  # its sleeps are the test's to wait for
                await app(scope, self.receive, self.send)
        except Exception as error:
            self.error = error
            cut = self.start is not None and not self.complete
            log_app_error(scope, error, self.status, cut=cut)
        finally:
            self.left.set()

    @property
    def status(self) -> int | None:
        return None if self.start is None else int(self.start["status"])

    async def wants_more(self) -> None:
        """Return once the reader asks for more of a streamed answer (or has not taken the
        response yet), or has left it; after leaving, the app's own cancellation on the
        disconnect comes first (a few turns of the loop)."""
        # Counted, not flagged: the reader may not have woken from the chunk it asked for.
        while not (self.gone or self.asked_for > self.put or not self.streaming.done()):
            self.asked.clear()
            await self.asked.wait()
        if self.gone:
            for _ in range(LEAVING_TURNS):
                await asyncio.sleep(0)

    async def receive(self) -> _Message:
        body, self._body = self._body, None
        if body is not None:
            return {"type": "http.request", "body": body, "more_body": False}
        await self.left.wait()  # a disconnect once the response is over, or the client left
        return {"type": "http.disconnect"}

    async def send(self, message: _Message) -> None:
        kind = message["type"]
        if kind == "http.response.start":
            self.start = message
            headers = message.get("headers", [])
            if self._keep_body and not any(k.lower() == b"content-length" for k, _ in headers):
                self._stream()  # no length: its first chunk may come much later
        elif kind == "http.response.body":
            chunk = bytes(message.get("body", b"")) if self._keep_body else b""
            more = bool(message.get("more_body", False))
            if self.gone:  # dropped, as a server drops it; an app deaf to the disconnect ends
                self._ignored += 1
                if self._ignored > IGNORED_SENDS:
                    raise asyncio.CancelledError
                await asyncio.sleep(0)
                return
            if self.streaming.done():
                if chunk:
                    self.put += 1
                    await self.chunks.put(chunk)  # waits for the reader
            else:
                self.head.append(chunk)
                if more:
                    self._stream()
            if not more:
                self.complete = True
                if self.streaming.done():
                    await self.chunks.put(_END)

    def _stream(self) -> None:
        if not self.streaming.done():
            self.streaming.set_result(None)


class _Streamed(httpx.AsyncByteStream):
    """The body as the app sends it; cut where the app failed; closing it early cancels the
    app, as a client that left."""

    def __init__(self, exchange: _Exchange, task: asyncio.Task[None]) -> None:
        self._exchange = exchange
        self._task = task

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._exchange.head:
            if chunk:
                yield chunk
        while True:
            getter = asyncio.ensure_future(self._exchange.chunks.get())
            self._exchange.asked_for += 1
            self._exchange.asked.set()
            await asyncio.wait({getter, self._task}, return_when=asyncio.FIRST_COMPLETED)
            if not getter.done():  # the app ended without a last body message
                getter.cancel()
                break
            chunk = getter.result()
            if chunk is _END:
                break
            yield chunk
        await asyncio.wait({self._task})
        error = self._exchange.error
        if error is not None and not self._exchange.complete:
            raise cut_error(httpx, self._exchange.status, error)

    async def aclose(self) -> None:
        # The app is told the client left (http.disconnect): it stops its stream and runs its
        # background tasks (its cleanup) by itself, as under a server; a send it is blocked in
        # returns. One that does not end within the grace is cancelled.
        exchange = self._exchange
        exchange.gone = True
        exchange.asked.set()
        exchange.left.set()
        with contextlib.suppress(asyncio.QueueEmpty):
            exchange.chunks.get_nowait()
        if not self._task.done():
            await asyncio.wait({self._task}, timeout=LEAVING_GRACE)
        if not self._task.done():
            self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class CutBody(httpx.AsyncByteStream):
    """What the app sent before it failed, then the client's ``RemoteProtocolError``."""

    def __init__(self, body: bytes, error: Exception) -> None:
        self._body = body
        self._error = error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._body:
            yield self._body
        raise self._error
