"""The reference app: a production-hardened FastAPI backend and pytest-hardening's first user."""

from __future__ import annotations

__all__: list[str] = []
