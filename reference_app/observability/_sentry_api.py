"""Thin helpers over the current Sentry scope (no-ops while Sentry is disabled)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import sentry_sdk

Level = Literal["fatal", "error", "warning", "info", "debug"]


def capture_error(
    exc: BaseException, *, tags: Mapping[str, str] | None = None, **context: Any
) -> str | None:
    """Report ``exc``; ``context`` goes to the event's extra data (scrubbed like everything else),
    ``tags`` to its indexed tags. Returns the event id, or None when nothing was sent."""
    return sentry_sdk.capture_exception(exc, extras=dict(context), tags=dict(tags or {}))


def capture_message(
    message: str, level: Level = "info", *, tags: Mapping[str, str] | None = None, **context: Any
) -> str | None:
    """Report a message (redacted for phone numbers, emails and credentials before sending)."""
    return sentry_sdk.capture_message(
        message, level=level, extras=dict(context), tags=dict(tags or {})
    )


def add_breadcrumb(
    message: str,
    *,
    category: str = "app",
    level: Level = "info",
    data: Mapping[str, Any] | None = None,
) -> None:
    """Record a breadcrumb on the current scope (redacted by the before_breadcrumb hook)."""
    sentry_sdk.add_breadcrumb(
        message=message, category=category, level=level, data=dict(data or {})
    )


def set_user(user_id: str | int | None, *, email: str | None = None) -> None:
    """Identify the user by id only. ``email`` is attached only when explicitly passed (the
    caller opts in); ``None`` as ``user_id`` clears the user."""
    if user_id is None:
        sentry_sdk.set_user(None)
        return
    user: dict[str, Any] = {"id": str(user_id)}
    if email is not None:
        user["email"] = email
    sentry_sdk.set_user(user)
