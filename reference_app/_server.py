"""How ``python -m reference_app`` runs uvicorn: time limits on slow or idle connections and a
shutdown grace that covers a whole request (docs/production-checklist.md)."""

from __future__ import annotations

import asyncio
import copy
import math
from typing import Any

from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.h11_impl import H11Protocol

from reference_app._limits import MAX_HEADER_BYTES
from reference_app.config import Settings

__all__ = [
    "HEADER_TIMEOUT_SECONDS",
    "KEEP_ALIVE_SECONDS",
    "MAX_HEADER_BYTES",
    "HeaderTimeoutH11Protocol",
    "server_options",
]

#: A new connection must deliver its request headers within this time, or it is closed (a
#: connection that never finishes its headers would otherwise be held for ever).
HEADER_TIMEOUT_SECONDS = 10.0
#: Idle keep-alive connections are kept longer than the 60 s load balancers keep theirs:
#: otherwise a balancer reuses a connection the app just closed (intermittent 502s).
KEEP_ALIVE_SECONDS = 75


class HeaderTimeoutH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, closing a connection whose first request headers have not
    arrived within :data:`HEADER_TIMEOUT_SECONDS` (slow-loris and half-open connections).
    Later requests on the connection are covered by the keep-alive timeout."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer = self.loop.call_later(HEADER_TIMEOUT_SECONDS, self._headers_overdue)

    def _headers_overdue(self) -> None:
        self._header_timer = None
        if self.cycle is None and not self.transport.is_closing():
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None
        super().connection_lost(exc)


def log_config() -> dict[str, Any]:
    """uvicorn's logging configuration with each access line ending in its request ID."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"request_id": {"()": "reference_app.observability.RequestIdLogFilter"}}
    config["formatters"]["access"]["fmt"] += " request_id=%(request_id)s"
    config["handlers"]["access"]["filters"] = ["request_id"]
    return config


def server_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run`` (besides the app, host and port)."""
    return {
        "log_level": "info",
        "log_config": log_config(),
        "http": HeaderTimeoutH11Protocol,
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        "timeout_graceful_shutdown": max(1, math.ceil(settings.shutdown_grace)),
        "server_header": False,
    }
