"""Why the database could not be used: the error the app answers 503 for, and its reasons."""

from __future__ import annotations

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

__all__ = ["UNAVAILABLE", "DatabaseUnavailable", "FailedWhileQueued", "reason"]


class DatabaseUnavailable(Exception):
    """The database cannot be used right now; retry after ``retry_after`` seconds (>= 1).

    ``reason`` says why, as a fixed label for logs and tests (never shown to clients):
    ``"breaker open"``, ``"failed while queued"`` (the operation ahead of it in the connection
    queue failed: the database is locked or gone, so this one gave up without trying),
    ``"locked"`` (SQLite's write lock stayed taken past the busy timeout), ``"pool timeout"``
    or ``"error"``.
    """

    def __init__(self, retry_after: float, reason: str = "error") -> None:
        super().__init__(f"database unavailable ({reason}); retry after {retry_after:.0f}s")
        self.retry_after = retry_after
        self.reason = reason


class FailedWhileQueued(Exception):
    """An operation waited for the connection while the operation ahead of it failed on the
    database itself (a held lock, a lost server) less than a second ago: it fails at once
    instead of meeting the same wait again, so every request queued behind a locked database
    fails within about one busy timeout instead of one busy timeout per request ahead of it."""


#: Failures of the database itself (not of one statement): the queue behind them gives up.
UNAVAILABLE = (OperationalError, InterfaceError, SQLAlchemyTimeoutError, OSError)


def reason(exc: BaseException) -> str:
    if isinstance(exc, FailedWhileQueued):
        return "failed while queued"
    if isinstance(exc, SQLAlchemyTimeoutError):
        return "pool timeout"
    if isinstance(exc, OperationalError) and "locked" in str(exc.orig):
        return "locked"
    return "error"
