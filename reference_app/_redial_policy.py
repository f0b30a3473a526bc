"""When a queued call may be dialled again, and whether a failed dial could have reached Exotel."""

from __future__ import annotations

import datetime as dt
import os
import socket

import httpx

__all__ = [
    "REDIAL_MAX_ATTEMPTS",
    "REDIAL_MAX_DELAY_SECONDS",
    "backoff",
    "instance_id",
    "not_dialled_fields",
    "reached_exotel",
]

#: Failed dials (ones known not to have reached Exotel) before a queued call is given up
#: (status ``failed``). Rejections by an open breaker do not count.
REDIAL_MAX_ATTEMPTS = 6
REDIAL_MAX_DELAY_SECONDS = 600.0


def backoff(attempts: int, open_timeout: float) -> float:
    """Seconds before the next dial after ``attempts`` failed ones: twice the Exotel breaker's
    open timeout (so live traffic takes the half-open probes first), doubling per failure, at
    most 10 minutes."""
    return float(min(open_timeout * 2 ** max(attempts, 1), REDIAL_MAX_DELAY_SECONDS))


def reached_exotel(exc: BaseException) -> bool:
    """False only when the dial certainly did not place a call: the breaker refused it, Exotel
    answered with an error status, or no connection was made. Timeouts, broken connections and
    unreadable answers may come after Exotel dialled: True (the call is then never re-dialled
    automatically; the signed status callback attaches its CallSid)."""
    if getattr(exc, "circuit_open", False) or getattr(exc, "status_code", None) is not None:
        return False
    return not isinstance(exc.__cause__, httpx.ConnectError | httpx.ConnectTimeout)


def not_dialled_fields(
    exc: BaseException, *, attempts: int, open_timeout: float, now: dt.datetime
) -> dict[str, object]:
    """The fields that hand a call whose dial failed with ``exc`` back to the re-dial worker,
    or ``{}`` when the dial may have reached Exotel (the call stays "dial started")."""
    if reached_exotel(exc):
        return {}
    counted = attempts if getattr(exc, "circuit_open", False) else attempts + 1
    delay = backoff(counted, open_timeout)
    return {
        "dial_started_at": None,
        "claimed_by": None,
        "claim_expires_at": None,
        "dial_attempts": counted,
        "next_dial_at": now + dt.timedelta(seconds=delay),
    }


def instance_id() -> str:
    """This process's name in a fleet: ``INSTANCE_ID``, else ``hostname:pid``."""
    return os.environ.get("INSTANCE_ID") or f"{socket.gethostname()}:{os.getpid()}"
