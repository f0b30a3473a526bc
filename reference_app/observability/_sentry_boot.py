"""A refused boot is reported to Sentry: Sentry comes first, even before a usable configuration.

The configuration is validated as a whole, so when it is refused there are no Settings to start
Sentry from. :func:`report_refused_boot` reads just ``SENTRY_DSN`` (and ``ENABLE_SENTRY``,
``APP_ENV``) from the environment and, when the DSN is a valid one, sends one error event naming
the refused variables and why (a :class:`~reference_app.config.ConfigurationError` never holds
a value, and the message is redacted once more on the way out), then flushes before returning, so
the process may exit right after. A client of its own: the global Sentry state is not touched.

Both ways of booting call it: ``python -m reference_app``, and ``create_app()`` when it reads a
refused configuration itself (``uvicorn --factory``, ``hardening serve``). Configuration checks
that build the app many times do so under the plugin's ``SentryGuard``, which gives this client
an in-memory transport: a check never sends to the DSN.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import sentry_sdk
from sentry_sdk.utils import BadDsn, Dsn

from reference_app.config import ConfigurationError

from ._event_scrub import before_send
from ._redact import redact_text

if TYPE_CHECKING:
    from sentry_sdk._types import Event

__all__ = ["BOOT_FLUSH_SECONDS", "report_refused_boot"]

#: How long a refused boot waits for its event to leave.
BOOT_FLUSH_SECONDS = 5.0
_OFF = frozenset({"0", "false", "no", "off"})


def _dsn(env: Mapping[str, str]) -> str | None:
    dsn = (env.get("SENTRY_DSN") or "").strip()
    if not dsn or (env.get("ENABLE_SENTRY") or "").strip().lower() in _OFF:
        return None
    try:
        parsed = Dsn(dsn)
    except BadDsn:
        return None  # a malformed DSN is itself one of the refused problems
    return dsn if parsed.scheme in {"http", "https"} else None


def report_refused_boot(
    error: ConfigurationError,
    env: Mapping[str, str] | None = None,
    *,
    transport: Any = None,
    flush_timeout: float = BOOT_FLUSH_SECONDS,
) -> bool:
    """Send one event for ``error`` to the DSN in ``env`` (default ``os.environ``) and flush.

    Returns whether an event was sent: False without a valid DSN or with ENABLE_SENTRY=false.
    ``transport`` replaces the HTTP transport (tests). Never raises: reporting must not hide the
    refusal itself.
    """
    source = os.environ if env is None else env
    dsn = _dsn(source)
    if dsn is None:
        return False
    try:
        client = sentry_sdk.Client(
            dsn=dsn,
            environment=(source.get("APP_ENV") or source.get("NODE_ENV") or "production").strip(),
            default_integrations=False,
            auto_enabling_integrations=False,
            before_send=before_send,
            transport=transport,
        )
        event: Event = {
            "level": "error",
            "logger": "reference_app.config",
            # "NAME (why)", not "NAME: why": a name-value shape would be redacted as one.
            "message": "refusing to start: "
            + "; ".join(f"{p.variable} ({redact_text(p.message)})" for p in error.problems),
            "tags": {"boot": "refused"},
            "extra": {
                # Every refused variable by name (Sentry keeps only the first ten list items).
                "variables": ", ".join(p.variable for p in error.problems),
                "problems": [
                    {"variable": p.variable, "message": redact_text(p.message)}
                    for p in error.problems
                ],
            },
        }
        sent = client.capture_event(event) is not None
        client.close(timeout=flush_timeout)  # flushes first
    except Exception:  # pragma: no cover - the refusal is reported on stderr regardless
        return False
    return sent
