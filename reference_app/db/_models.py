"""The ``calls`` table."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import Boolean, DateTime, Dialect, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "Base",
    "CallRow",
    "CallStatus",
    "IdempotencyRow",
    "RecordingRetryRow",
    "UTCDateTime",
    "WebhookDeliveryRow",
    "utcnow",
]


class CallStatus(str, enum.Enum):
    QUEUED = "queued"
    INITIATED = "initiated"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    FAILED = "failed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware UTC datetimes on every backend (SQLite drops tzinfo; this puts it back)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use aware UTC datetimes")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


class Base(DeclarativeBase):
    pass


class CallRow(Base):
    __tablename__ = "calls"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    order_id: Mapped[str] = mapped_column(String(64), index=True)
    shop: Mapped[str] = mapped_column(String(255))
    phone: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=CallStatus.QUEUED.value)
    exotel_call_sid: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    script: Mapped[str | None] = mapped_column(Text, default=None)
    recording_url: Mapped[str | None] = mapped_column(Text, default=None)
    recording_key: Mapped[str | None] = mapped_column(String(255), default=None)
    recording_upload_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Re-dialling (docs/redial.md). A row is born "dial started": the request that stored it is
    # dialling; only a dial known NOT to have reached Exotel clears it and sets next_dial_at.
    dial_started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=utcnow)
    #: Dial attempts known to have failed without reaching Exotel.
    dial_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_dial_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True, default=None)
    #: The instance holding the re-dial claim, until claim_expires_at.
    claimed_by: Mapped[str | None] = mapped_column(String(128), default=None)
    claim_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)


class IdempotencyRow(Base):
    """One ``Idempotency-Key`` a merchant used: the request it named and the call it made.

    Kept in the database (not in memory) so a retry reaching another instance, or arriving after
    a restart, still finds the first answer.
    """

    __tablename__ = "idempotency_keys"

    merchant: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[str] = mapped_column(String(36))
    #: The first answer's HTTP status; None while the first request is still running.
    response_status: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class WebhookDeliveryRow(Base):
    """A Shopify webhook delivery already handled (``X-Shopify-Webhook-Id``): a replayed
    delivery is acknowledged and ignored. In the database, so every instance agrees."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RecordingRetryRow(Base):
    """Failed attempts to archive a call's recording, and when to try next (back-off).

    A table of its own (not columns on ``calls``): existing databases gain it by
    ``create_all``, without a migration.
    """

    __tablename__ = "recording_retries"

    call_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
