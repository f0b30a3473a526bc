"""A Sentry transport that keeps envelopes in memory (buffered until flush, like a real one)."""

from __future__ import annotations

import json
from typing import Any

from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport


class CapturingTransport(Transport):
    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.pending: list[Envelope] = []
        self.sent: list[Envelope] = []
        self.flushes = 0

    def capture_envelope(self, envelope: Envelope) -> None:
        self.pending.append(envelope)

    def flush(self, timeout: float, callback: Any = None) -> None:
        self.flushes += 1
        self.sent.extend(self.pending)
        self.pending.clear()

    def serialized(self) -> str:
        """Everything sent, as the bytes that would go over the wire (decoded)."""
        return b"".join(e.serialize() for e in self.sent).decode("utf-8", "replace")

    def items(self, item_type: str) -> list[dict[str, Any]]:
        found = []
        for envelope in self.sent:
            for item in envelope.items:
                if item.type == item_type:
                    found.append(json.loads(item.payload.get_bytes()))
        return found

    @property
    def events(self) -> list[dict[str, Any]]:
        return self.items("event")

    @property
    def transactions(self) -> list[dict[str, Any]]:
        return self.items("transaction")
