"""An app's unhandled exception is logged with its traceback, as a server logs it.

The hardened clients answer such an exception with a 500, as a server does, so that a test can
assert what a client sees. Without a log the traceback would be lost, and a failing test would
show only "Internal Server Error". pytest shows the record under "Captured log" of a failing
test; the chaos harness keeps its first line in a failed scenario's report. The app's Sentry
never sees it.
"""

from __future__ import annotations

import logging
from typing import Any

from sentry_sdk.integrations.logging import ignore_logger

__all__ = ["LOGGER", "log_app_error", "logging_app_errors"]

LOGGER = logging.getLogger("pytest_hardening.app")


def log_app_error(
    scope: dict[str, Any], error: BaseException, status: int | None = None, *, cut: bool = False
) -> None:
    """Log ``error``, raised by the app while it served ``scope``, having answered ``status``
    (None: nothing, so the client gets a 500); ``cut`` when the body was under way. The path is
    logged without its query string (where tokens travel); the exception is the app's own."""
    # The app's Sentry (its logging integration, on by default) would make this record an
    # event and a breadcrumb of the app's own: its test would see two events for one error.
    ignore_logger(LOGGER.name)
    answered = f"the client was answered {status or 500}"  # an exception handler's own, too
    LOGGER.error(
        "Exception in ASGI application: %s %s (%s)%s",
        scope.get("method", scope.get("type", "?")),
        scope.get("path", "?"),
        f"{answered}, its body cut where the app failed" if cut else answered,
        _hint(error),
        exc_info=error,
    )


#: Messages of errors that come from where the app made an object, not from the request.
_THREAD_BOUND = "can only be used in that same thread"  # sqlite3
_LOOP_BOUND = ("attached to a different loop", "is bound to a different event loop")


def _hint(error: BaseException) -> str:
    """What the test harness has to do with an error (empty for most)."""
    message = str(error)
    if _THREAD_BOUND in message:
        return (
            "\nhint: the app used an object bound to the thread that made it (a sqlite3 "
            "connection made at import?). hardened_client runs the app in a thread of its own, "
            "as Starlette's TestClient does; hardened_async_client runs its async code in the "
            "test's thread (sync endpoints still run in worker threads). Or make the object "
            "in the app's lifespan, or let it be shared (check_same_thread=False)."
        )
    if any(bound in message for bound in _LOOP_BOUND):
        return (
            "\nhint: the app used an object bound to another event loop (a client or pool "
            "made at import, or by an earlier test's loop): make it in the app's lifespan."
        )
    return ""


def logging_app_errors(app: Any) -> Any:
    """Wrap ``app`` so that an exception it raises is logged, then raised on."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        started: list[int] = []

        async def sending(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                started.append(message["status"])
            await send(message)

        try:
            await app(scope, receive, sending)
        except Exception as exc:
            log_app_error(scope, exc, started[0] if started else None)
            raise

    return asgi
