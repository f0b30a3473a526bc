"""Test helpers: switchable fake providers and a buffering Sentry transport."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from reference_app import fakes

Handler = Callable[[httpx.Request], httpx.Response]


class Switchboard:
    """The healthy fakes, with per-provider overrides and a log of (provider, request)."""

    def __init__(self) -> None:
        self._overrides: dict[str, Handler] = {}
        self.log: list[tuple[str, httpx.Request]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        name = fakes.provider_for(request.url)
        if name is None:
            raise AssertionError(f"unexpected outbound request to {request.url}")
        self.log.append((name, request))
        override = self._overrides.get(name)
        return override(request) if override else fakes.providers()[name][1](request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def fail(self, name: str, status: int = 503) -> None:
        self._overrides[name] = lambda request: httpx.Response(status, json={"error": "fake"})

    def refuse(self, name: str) -> None:
        def refuse(request: httpx.Request) -> httpx.Response:
            raise httpx.ConnectError("connection refused", request=request)

        self._overrides[name] = refuse

    def set(self, name: str, handler: Handler) -> None:
        self._overrides[name] = handler

    def heal(self, name: str | None = None) -> None:
        if name is None:
            self._overrides.clear()
        else:
            self._overrides.pop(name, None)

    def calls(self, name: str) -> list[httpx.Request]:
        return [request for provider, request in self.log if provider == name]


class BufferedSentryTransport(Transport):
    """Queues envelopes like the real transport; only ``flush`` delivers them."""

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.pending: list[Envelope] = []
        self.delivered: list[Envelope] = []
        self.flush_timeouts: list[float] = []

    def capture_envelope(self, envelope: Envelope) -> None:
        self.pending.append(envelope)

    def flush(self, timeout: float, callback: Any = None) -> None:
        self.flush_timeouts.append(timeout)
        self.delivered.extend(self.pending)
        self.pending.clear()

    def events(self) -> list[dict[str, Any]]:
        return [
            item.payload.json
            for envelope in self.delivered
            for item in envelope.items
            if item.type == "event" and item.payload.json is not None
        ]
