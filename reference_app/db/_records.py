"""What the repository hands out: stored calls and idempotency records, detached from sessions."""

from __future__ import annotations

import dataclasses
import datetime as dt

from ._models import CallRow, CallStatus

__all__ = ["Call", "IdempotencyClaim", "IdempotentReplay"]


@dataclasses.dataclass(frozen=True, slots=True)
class Call:
    """A stored call, detached from any session."""

    id: str
    order_id: str
    shop: str
    phone: str
    status: CallStatus
    exotel_call_sid: str | None
    script: str | None
    recording_url: str | None
    recording_key: str | None
    recording_upload_pending: bool
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_row(cls, row: CallRow) -> Call:
        values = {f.name: getattr(row, f.name) for f in dataclasses.fields(cls)}
        values["status"] = CallStatus(row.status)
        return cls(**values)


@dataclasses.dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """An ``Idempotency-Key`` to record with a new call: whose, which key, which request."""

    merchant: str
    key: str
    request_sha256: str


@dataclasses.dataclass(frozen=True, slots=True)
class IdempotentReplay:
    """The key was used before: the request it named, its call, and the first answer's status
    (None while the first request is still running)."""

    request_sha256: str
    call: Call | None
    response_status: int | None
    created_at: dt.datetime
