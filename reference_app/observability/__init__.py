"""Observability: APM (per-app metrics + pure ASGI middleware), Sentry setup with PII hardening,
and system metrics (psutil)."""

from __future__ import annotations

from ._access_log import QueryRedactingFilter, redacted_access_log
from ._apm import UNMATCHED_ROUTE, ApmRegistry
from ._breaker_metrics import BREAKER_STATES, BreakerCollector
from ._event_scrub import before_breadcrumb, before_send, before_send_transaction
from ._memory_limit import MemoryLimit, memory_limit
from ._middleware import ApmMiddleware
from ._redact import (
    FILTERED,
    Redactor,
    is_sensitive_name,
    redact_query,
    redact_text,
    redact_url,
)
from ._request_id import (
    REQUEST_ID_HEADER,
    RequestIdLogFilter,
    RequestIdMiddleware,
    current_request_id,
)
from ._sentry import ERRORS_LOGGER, SentryHandle, init_sentry
from ._sentry_api import add_breadcrumb, capture_error, capture_message, set_user
from ._sentry_boot import report_refused_boot
from ._sentry_hooks import denylist, make_event_scrubber, sentry_options
from ._stats import Alert, AlertKind, Stats
from ._system import SystemMonitor

__all__ = [
    "BREAKER_STATES",
    "ERRORS_LOGGER",
    "FILTERED",
    "REQUEST_ID_HEADER",
    "UNMATCHED_ROUTE",
    "Alert",
    "AlertKind",
    "ApmMiddleware",
    "ApmRegistry",
    "BreakerCollector",
    "MemoryLimit",
    "QueryRedactingFilter",
    "Redactor",
    "RequestIdLogFilter",
    "RequestIdMiddleware",
    "SentryHandle",
    "Stats",
    "SystemMonitor",
    "add_breadcrumb",
    "before_breadcrumb",
    "before_send",
    "before_send_transaction",
    "capture_error",
    "capture_message",
    "current_request_id",
    "denylist",
    "init_sentry",
    "is_sensitive_name",
    "make_event_scrubber",
    "memory_limit",
    "redact_query",
    "redact_text",
    "redact_url",
    "redacted_access_log",
    "report_refused_boot",
    "sentry_options",
    "set_user",
]
