"""An app's unhandled exception is logged with its traceback, as a server logs it.

The hardened clients answer such an exception with a 500, as a server does, so that a test can
assert what a client sees. Without a log the traceback would be lost, and a failing test would
show only "Internal Server Error". pytest shows the record under "Captured log" of a failing
test; the chaos harness keeps its first line in a failed scenario's report. The app's Sentry
never sees it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from sentry_sdk.integrations.logging import ignore_logger

__all__ = ["LOGGER", "cut_error", "log_app_error"]

LOGGER = logging.getLogger("pytest_hardening.app")


def log_app_error(
    scope: Mapping[str, Any], error: BaseException, status: int | None = None, *, cut: bool = False
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
            "made at import, or by an earlier test's loop): make it in the app's lifespan, or "
            'run the async tests in one loop (asyncio_default_test_loop_scope = "session" and '
            'asyncio_default_fixture_loop_scope = "session"; docs/getting-started.md, "Async '
            'tests")'
        )
    return ""


def cut_error(http: ModuleType, status: int | None, error: BaseException) -> Exception:
    """What a client of a real server reads when the app failed mid-body: the server closes
    the connection, and the client (``http``: httpx or httpx2) finds the body incomplete."""
    cut: Exception = http.RemoteProtocolError(
        f"the app failed after answering {status} ({type(error).__name__}: {error}): "
        "the body ends where it failed, as a server closing the connection would leave it "
        "(the traceback is logged by pytest_hardening.app)"
    )
    cut.__cause__ = error
    return cut
