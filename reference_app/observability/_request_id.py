"""Request IDs: one per request, accepted from ``X-Request-ID`` when well formed (a proxy's or
the client's), generated otherwise; returned on every response and attached to Sentry events
(tag ``request_id``), to log records (``%(request_id)s``) and to the access log."""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import string

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "REQUEST_ID_HEADER",
    "RequestIdLogFilter",
    "RequestIdMiddleware",
    "current_request_id",
    "new_request_id",
]

REQUEST_ID_HEADER = "X-Request-ID"
#: What an incoming ID may be: 8-128 characters of letters, digits, ``-``, ``_``, ``.`` and
#: ``:`` (UUIDs, ULIDs, trace ids). Anything else (spaces, control characters, a huge value
#: meant for log injection) is replaced by a new ID.
_WELL_FORMED = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")
_NONE = "-"

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "reference_app_request_id", default=None
)


def new_request_id() -> str:
    """32 random lowercase letters (150 bits). No digits: a generated ID never looks like an
    OTP or a phone number to the redaction rules and the PII tests."""
    # One draw of the whole number, written in base 26: a draw per letter read the system's
    # random source 32 times, a tenth of a millisecond per request.
    number = secrets.randbelow(_ID_SPACE)
    letters = []
    for _ in range(_ID_LETTERS):
        number, digit = divmod(number, 26)
        letters.append(string.ascii_lowercase[digit])
    return "".join(letters)


_ID_LETTERS = 32
_ID_SPACE = 26**_ID_LETTERS


def current_request_id() -> str | None:
    """The ID of the request being handled in this context, if any."""
    return _request_id.get()


class RequestIdLogFilter(logging.Filter):
    """Sets ``record.request_id`` (``-`` outside a request) on every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get() or _NONE
        return True


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = next((v for k, v in scope.get("headers", ()) if k == b"x-request-id"), b"")
        text = sent.decode("latin-1")
        request_id = text if _WELL_FORMED.match(text) else new_request_id()
        token = _request_id.set(request_id)
        _tag_sentry(request_id)
        header = (b"x-request-id", request_id.encode("ascii"))

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", ()) if h[0] != b"x-request-id"]
                message = {**message, "headers": [*headers, header]}
            await send(message)

        try:
            await self.app(scope, receive, with_id)
        finally:
            _request_id.reset(token)


def _tag_sentry(request_id: str) -> None:
    # Imported here: importing the observability package must not pull in the SDK's state.
    import sentry_sdk

    sentry_sdk.set_tag("request_id", request_id)
