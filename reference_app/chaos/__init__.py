"""The reference app's chaos catalogue and how to run it in-process (``hardening chaos``).

``target()`` is what the command and ``tests/chaos`` load: the scenarios plus a session factory
that builds a fresh app per scenario with in-memory SQLite, the healthy provider fakes behind
the fault injector, a frozen clock, and Sentry captured in memory.
"""

from __future__ import annotations

from ._catalogue import catalogue
from ._target import CHAOS_ENV, session, target

__all__ = ["CHAOS_ENV", "catalogue", "session", "target"]
