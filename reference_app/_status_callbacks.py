"""Exotel's status callbacks: the signed URL we hand Exotel when dialling, the statuses it may
report onto ours, and the order they move a call in.

Exotel does not sign its callbacks, so the URL carries our own HMAC of the call id and an
expiry, checked when the callback arrives.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Mapping
from types import MappingProxyType
from urllib.parse import urlencode

from reference_app.db import CallStatus

__all__ = [
    "CALLBACK_SIGNATURE_SECONDS",
    "EXOTEL_STATUSES",
    "STATUS_CALLBACK_PATH",
    "CallbackSigner",
    "moves_forward",
    "status_callback_key",
]

STATUS_CALLBACK_PATH = "/api/webhooks/exotel/status-callback"
#: Bound on the ``call_id`` query parameter before it is signed or looked up (ids are UUIDs).
_MAX_CALL_ID_CHARS = 64

#: How long a signed StatusCallback URL is accepted: Exotel calls back within minutes of the
#: call (recordings included), so a day is generous; a captured URL is useless after it.
CALLBACK_SIGNATURE_SECONDS = 24 * 3600

#: Exotel's call statuses onto ours; anything unknown is rejected by the webhook.
EXOTEL_STATUSES: Mapping[str, CallStatus] = MappingProxyType(
    {
        "queued": CallStatus.QUEUED,
        "ringing": CallStatus.RINGING,
        "in-progress": CallStatus.IN_PROGRESS,
        "completed": CallStatus.COMPLETED,
        "failed": CallStatus.FAILED,
        "busy": CallStatus.BUSY,
        "no-answer": CallStatus.NO_ANSWER,
        "canceled": CallStatus.FAILED,
    }
)


#: Call states in the order a call moves through them; a callback never moves a call back
#: (terminal states share the last rank: the first terminal state wins).
_RANK: Mapping[CallStatus, int] = MappingProxyType(
    {
        CallStatus.QUEUED: 0,
        CallStatus.INITIATED: 1,
        CallStatus.RINGING: 2,
        CallStatus.IN_PROGRESS: 3,
        CallStatus.COMPLETED: 4,
        CallStatus.FAILED: 4,
        CallStatus.BUSY: 4,
        CallStatus.NO_ANSWER: 4,
    }
)


def moves_forward(current: CallStatus, reported: CallStatus) -> bool:
    """Whether a callback reporting ``reported`` moves a call on from ``current``."""
    return _RANK[reported] > _RANK[current]


def status_callback_key(api_token: str) -> bytes:
    """The HMAC key for status-callback URLs, derived from ``EXOTEL_API_TOKEN``.

    Exotel does not sign its callbacks, so the URL we hand it carries our own signature. Derived
    (domain-separated) rather than a new required variable; rotating the token rotates it.
    """
    return hashlib.sha256(b"exotel-status-callback" + api_token.encode()).digest()


def _callback_signature(key: bytes, call_id: str, expires: str) -> str:
    digest = hmac.new(key, f"{call_id}.{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class CallbackSigner:
    """Makes and checks the signed StatusCallback URLs of one app (its base URL and key)."""

    def __init__(self, webhook_base_url: str, key: bytes) -> None:
        self._status_callback = webhook_base_url.rstrip("/") + STATUS_CALLBACK_PATH
        self._key = key

    def params(self, call_id: str) -> dict[str, str]:
        """``{"call_id", "exp", "sig"}``, valid :data:`CALLBACK_SIGNATURE_SECONDS` from now."""
        expires = str(int(time.time() + CALLBACK_SIGNATURE_SECONDS))
        sig = _callback_signature(self._key, call_id, expires)
        return {"call_id": call_id, "exp": expires, "sig": sig}

    def url(self, call_id: str) -> str:
        return f"{self._status_callback}?{urlencode(self.params(call_id))}"

    def verify(self, call_id: str, sig: str, expires: str = "") -> bool:
        """Whether ``sig`` authenticates ``call_id`` until ``expires``, which has not passed
        (constant-time comparison)."""
        if not 0 < len(call_id) <= _MAX_CALL_ID_CHARS or not call_id.isprintable():
            return False
        if not (expires.isascii() and expires.isdigit() and len(expires) <= 12):
            return False
        expected = _callback_signature(self._key, call_id, expires).encode()
        valid = hmac.compare_digest(expected, sig.encode("utf-8", "replace"))
        return valid and time.time() <= int(expires)
