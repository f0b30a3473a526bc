"""Persistence: SQLAlchemy 2 async models and the call repository behind the database breaker."""

from __future__ import annotations

from ._claims import RedialClaims
from ._errors import DatabaseUnavailable
from ._models import Base, CallRow, CallStatus, IdempotencyRow, UTCDateTime, utcnow
from ._records import Call, IdempotencyClaim, IdempotentReplay
from ._repository import CallRepository
from ._retention import IDEMPOTENCY_KEY_RETENTION, WEBHOOK_DELIVERY_RETENTION
from ._url import DEFAULT_DATABASE_URL, create_engine, normalise_database_url

__all__ = [
    "DEFAULT_DATABASE_URL",
    "IDEMPOTENCY_KEY_RETENTION",
    "WEBHOOK_DELIVERY_RETENTION",
    "Base",
    "Call",
    "CallRepository",
    "CallRow",
    "CallStatus",
    "DatabaseUnavailable",
    "IdempotencyClaim",
    "IdempotencyRow",
    "IdempotentReplay",
    "RedialClaims",
    "UTCDateTime",
    "create_engine",
    "normalise_database_url",
    "utcnow",
]
