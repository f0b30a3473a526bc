"""The async hardened client's transport: the app's failures answered as a server answers
them; on asyncio, streamed answers as they come (:mod:`._async_streaming`), on trio httpx's
ASGI transport, which runs the app to its end first.

``httpx.ASGITransport`` (``raise_app_exceptions=False``) answers an exception raised before the
response started with a 500, as a server does; one raised part-way through the body it hands
over as a whole answer, the status the app sent and the body cut short: a test cannot tell a
stream cut mid-answer from a complete one. A server closes the connection there, and its
client finds the body incomplete; so does this transport's client. Either way the exception
is logged with its traceback (``pytest_hardening.app``).
"""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any

import httpx

from ._app_errors import cut_error, log_app_error
from ._async_streaming import CutBody, serve_streaming
from ._virtual_time import serving_request

__all__ = ["AppTransport"]

_Message = MutableMapping[str, Any]


class AppTransport(httpx.AsyncBaseTransport):
    """Serve requests with ``app`` in the caller's event loop."""

    def __init__(self, app: Any) -> None:
        self._app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if _on_asyncio():  # streamed answers as they come
            return await serve_streaming(self._app, request)
        served = _Served(self._app)
        transport = httpx.ASGITransport(app=served, raise_app_exceptions=False)
        response = await transport.handle_async_request(request)
        if served.error is None or served.status is None or served.complete:
            return response
        body = b"".join([chunk async for chunk in response.stream])  # type: ignore[union-attr]
        return httpx.Response(
            served.status,
            headers=response.headers,
            stream=CutBody(body, cut_error(httpx, served.status, served.error)),
            request=request,
        )


def _on_asyncio() -> bool:
    """Whether an asyncio loop runs this task (not trio: anyio no longer needs sniffio)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class _Served:
    """One request's app call: what it answered, whether its body was complete, and the
    exception it raised (logged, then raised on to httpx's transport)."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self.status: int | None = None
        self.complete = False
        self.error: Exception | None = None

    async def __call__(self, scope: _Message, receive: Any, send: Any) -> None:
        async def sending(message: _Message) -> None:
            if message["type"] == "http.response.start":
                self.status = int(message["status"])
            elif message["type"] == "http.response.body":
                self.complete = not message.get("more_body", False)
            await send(message)

        try:
            with serving_request():
                await self._app(scope, receive, sending)
        except Exception as exc:
            self.error = exc
            cut = self.status is not None and not self.complete
            log_app_error(scope, exc, self.status, cut=cut)
            raise
