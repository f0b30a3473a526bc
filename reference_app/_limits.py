"""Request limits, enforced before anything parses the request.

A request line plus headers over :data:`MAX_HEADER_BYTES` is refused (431): the server's own
limit only applies to headers that arrive in pieces. A request declaring both
``Content-Length`` and ``Transfer-Encoding`` is refused (400) and its connection closed: the
two framings disagree, the classic request-smuggling shape (RFC 9112 §6.3), and a proxy in
front could frame the body differently. The JSON API takes at most :data:`MAX_BODY_BYTES`: a
larger declared ``Content-Length`` is
refused at once (413) without reading, and a body that streams past the limit (chunked, or a
lying length) is cut off at the limit (413). Each body chunk must arrive within
:data:`BODY_TIMEOUT_SECONDS` (408): a client trickling its body cannot hold a worker for ever.
Webhooks keep their own, smaller limit (api/_webhooks.py).
"""

from __future__ import annotations

import asyncio
import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "BODY_TIMEOUT_SECONDS",
    "MAX_BODY_BYTES",
    "MAX_HEADER_BYTES",
    "BodyLimitMiddleware",
    "BodyRefused",
]

MAX_BODY_BYTES = 1024 * 1024
BODY_TIMEOUT_SECONDS = 15.0
#: The most a request line plus headers may take.
MAX_HEADER_BYTES = 16 * 1024


def _head_refusal(scope: Scope, max_body: int) -> tuple[int, str] | None:
    """Why the request's line and headers alone refuse it, if they do."""
    headers = scope.get("headers", ())
    size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
    size += sum(len(name) + len(value) + 4 for name, value in headers)
    if size > MAX_HEADER_BYTES:
        return 431, "request headers too large"
    names = {name for name, _ in headers}
    if b"content-length" in names and b"transfer-encoding" in names:
        return 400, "both Content-Length and Transfer-Encoding"
    for name, value in headers:
        if name == b"content-length" and (not value.isdigit() or int(value) > max_body):
            return 413, f"request body over {max_body} bytes"
    return None


class BodyRefused(HTTPException):
    """Raised from ``receive`` when the body breaks a limit (413 or 408). An HTTPException, so
    the framework answers it as such wherever the body was being read (FastAPI turns any other
    error while parsing a body into a 400)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(status, detail, headers={"Connection": "close"})


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        max_bytes: int = MAX_BODY_BYTES,
        chunk_timeout: float = BODY_TIMEOUT_SECONDS,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.chunk_timeout = chunk_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = _head_refusal(scope, self.max_bytes)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        received = 0
        started = False

        complete = False

        async def limited() -> Message:
            nonlocal received, complete
            if complete:  # the body is in: what follows is waiting for a disconnect
                return await receive()
            try:
                async with asyncio.timeout(self.chunk_timeout):
                    message = await receive()
            except TimeoutError:
                raise BodyRefused(408, "request body too slow") from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyRefused(413, f"request body over {self.max_bytes} bytes")
                complete = not message.get("more_body", False)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except BodyRefused as refused:
            if started:
                raise
            await _answer(send, refused.status_code, refused.detail)
