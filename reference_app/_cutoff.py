"""Requests cut off by the end of the shutdown grace period answer 503, never 500.

uvicorn cancels the requests still running when ``timeout_graceful_shutdown`` runs out; left
alone, each would answer ``500 Internal Server Error`` although its work (a stored, dialled
call) may have succeeded. This outermost ASGI middleware answers such a request ``503`` with
``Retry-After`` instead: the client retries (with its Idempotency-Key: no second dial).
"""

from __future__ import annotations

import asyncio
import contextlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CUTOFF_RETRY_AFTER_SECONDS", "CutoffMiddleware"]

#: What a cut-off request's client is told to wait: about a restart.
CUTOFF_RETRY_AFTER_SECONDS = 5

_BODY = b'{"detail":"the server is restarting; retry later"}'


class CutoffMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        except asyncio.CancelledError:
            if not started:
                with contextlib.suppress(Exception):
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 503,
                            "headers": [
                                (b"content-type", b"application/json"),
                                (b"retry-after", str(CUTOFF_RETRY_AFTER_SECONDS).encode()),
                                (b"connection", b"close"),
                            ],
                        }
                    )
                    await send({"type": "http.response.body", "body": _BODY})
            raise
