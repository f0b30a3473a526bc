"""Request and response bodies of the public API."""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from reference_app.db import Call, CallStatus
from reference_app.providers import SHOP_DOMAIN

__all__ = ["E164", "CallCreate", "CallOut", "mask_phone"]

#: E.164: a plus sign, a non-zero country code digit, at most 15 digits in all.
E164 = r"^\+[1-9][0-9]{6,14}$"


class CallCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    shop: str = Field(max_length=255, pattern=SHOP_DOMAIN)
    phone: str = Field(pattern=E164)


def mask_phone(phone: str) -> str:
    """``+919876543210`` → ``+91******3210``: enough to recognise, not to dial."""
    return phone[:3] + "*" * max(0, len(phone) - 7) + phone[-4:]


class CallOut(BaseModel):
    id: str
    status: CallStatus
    order_id: str
    shop: str
    phone: str = Field(description="masked")
    exotel_call_sid: str | None
    script: str | None
    recording_available: bool
    recording_upload_pending: bool
    recording_download_url: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime

    @classmethod
    def from_call(cls, call: Call, *, download_url: str | None = None) -> CallOut:
        return cls(
            id=call.id,
            status=call.status,
            order_id=call.order_id,
            shop=call.shop,
            phone=mask_phone(call.phone),
            exotel_call_sid=call.exotel_call_sid,
            script=call.script,
            recording_available=call.recording_key is not None,
            recording_upload_pending=call.recording_upload_pending,
            recording_download_url=download_url,
            created_at=call.created_at,
            updated_at=call.updated_at,
        )
