"""SentryIngest: a Sentry-compatible ingest endpoint on 127.0.0.1 that keeps what it receives.

Point an app's ``SENTRY_DSN`` at :attr:`SentryIngest.dsn` and the real SDK, with its real HTTP
transport, background worker and flush, delivers to it: what arrives here is exactly what would
have left the process. Envelopes are parsed with the SDK's own ``Envelope.deserialize`` and kept
in a :class:`~pytest_hardening.SentryCapture`, the same store the in-process fixtures use, so its
views and assertions (``assert_captured``, ``assert_no_secrets``) work on what arrived.
"""

from __future__ import annotations

import gzip
import re
import threading
import time
import zlib
from collections.abc import Callable
from types import TracebackType
from typing import Any

import httpx
from sentry_sdk.envelope import Envelope

from pytest_hardening._sentry import SentryCapture

from ._asgi import HandlerApp
from ._server import LiveServer

__all__ = ["SentryIngest"]

_ENVELOPE_PATH = re.compile(r"^/api/(?P<project>[0-9]+)/envelope/?$")


def _decode(request: httpx.Request) -> bytes:
    encoding = request.headers.get("content-encoding", "").lower()
    body = request.content
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        return zlib.decompress(body)
    if encoding in ("", "identity"):
        return body
    raise ValueError(f"unsupported content-encoding {encoding!r} (install brotli for br)")


class SentryIngest:
    """Accepts ``POST /api/<project>/envelope/`` (gzip/deflate/plain) and answers 200.

    :attr:`capture` (a :class:`~pytest_hardening.SentryCapture`) keeps every parsed envelope;
    ``envelopes``, ``events`` (error/message events) and ``transactions`` are its views, in
    arrival order; ``rejected`` notes what could not be parsed.
    """

    def __init__(self, *, project: str = "1", key: str = "public") -> None:
        self.project = project
        self.key = key
        self.capture = SentryCapture()
        self.rejected: list[str] = []
        self._lock = threading.Lock()
        self._server = LiveServer(None, name="sentry-ingest")
        self._server.app = HandlerApp(self.handle, lambda: self._server.url)

    @property
    def dsn(self) -> str:
        """``http://<key>@127.0.0.1:<port>/<project>``."""
        return f"http://{self.key}@127.0.0.1:{self._server.port}/{self.project}"

    def start(self) -> SentryIngest:
        self._server.start()
        return self

    def stop(self) -> None:
        self._server.stop()

    def __enter__(self) -> SentryIngest:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- the endpoint ----------------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        match = _ENVELOPE_PATH.match(request.url.path)
        if request.method != "POST" or match is None:
            return httpx.Response(404, json={"detail": "only POST /api/<project>/envelope/"})
        if match.group("project") != self.project:
            return httpx.Response(403, json={"detail": "unknown project"})
        try:
            envelope = Envelope.deserialize(_decode(request))
        except Exception as exc:  # keep a note, answer like Sentry would
            with self._lock:
                self.rejected.append(f"{type(exc).__name__}: {exc}")
            return httpx.Response(400, json={"detail": "invalid envelope"})
        self.capture.capture_envelope(envelope)
        return httpx.Response(200, json={"id": (envelope.headers or {}).get("event_id")})

    # -- what arrived ----------------------------------------------------------------------
    @property
    def envelopes(self) -> list[Envelope]:
        return self.capture.envelopes

    @property
    def events(self) -> list[dict[str, Any]]:
        """Error and message events, in arrival order."""
        return self.capture.events

    @property
    def transactions(self) -> list[dict[str, Any]]:
        return self.capture.transactions

    def summary(self) -> str:
        """One line per received item, for failure messages."""
        lines = []
        for kind, payloads in (("event", self.events), ("transaction", self.transactions)):
            for payload in payloads:
                name = payload.get("transaction") or payload.get("message") or ""
                lines.append(f"  {kind}: {name}")
        return "\n".join(lines[-20:]) or "  (nothing received)"

    def wait_for(self, predicate: Callable[[SentryIngest], bool], *, timeout: float = 5.0) -> bool:
        """Poll until ``predicate(self)`` is true (True) or ``timeout`` passes (False)."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True
