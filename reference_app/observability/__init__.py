"""Observability: APM (per-app metrics + pure ASGI middleware), Sentry setup, system metrics."""

from __future__ import annotations

from ._apm import UNMATCHED_ROUTE, ApmRegistry
from ._middleware import ApmMiddleware
from ._stats import Alert, AlertKind, Stats

__all__ = [
    "UNMATCHED_ROUTE",
    "Alert",
    "AlertKind",
    "ApmMiddleware",
    "ApmRegistry",
    "Stats",
]
