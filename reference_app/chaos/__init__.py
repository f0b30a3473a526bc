"""The reference app's chaos catalogue and how to run it in-process (``hardening chaos``).

``target()`` is what the command and ``tests/chaos`` load: the scenarios plus a session factory
that builds a fresh app per scenario (or resets one kept running, see ``HarnessSession.reusing``)
with in-memory SQLite, the healthy provider fakes behind
the fault injector, a frozen clock, and Sentry captured in memory.
"""

from __future__ import annotations

from ._app import create_chaos_app
from ._catalogue import catalogue
from ._redial_steps import RedialQueued, queued_calls_dialled_once
from ._steps import (
    DatabaseOutage,
    DatabaseRestored,
    RetryPendingUploads,
    calls_kept,
    calls_kept_nothing_half_written,
    calls_persisted,
    health_is,
    place_calls,
    recordings_kept,
    retry_after_on_503,
    status_callbacks,
)
from ._target import CHAOS_ENV, session, target

__all__ = [
    "CHAOS_ENV",
    "DatabaseOutage",
    "DatabaseRestored",
    "RedialQueued",
    "RetryPendingUploads",
    "calls_kept",
    "calls_kept_nothing_half_written",
    "calls_persisted",
    "catalogue",
    "create_chaos_app",
    "health_is",
    "place_calls",
    "queued_calls_dialled_once",
    "recordings_kept",
    "retry_after_on_503",
    "session",
    "status_callbacks",
    "target",
]
