"""Keep secrets in query strings out of server access logs.

uvicorn logs every request line with its query string, and some of ours carry secrets (the
signed Exotel status-callback ``sig``, OAuth ``code``/``state``). The filter keeps parameter
names and filters every value, the same rule Sentry events get.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

from ._redact import redact_url
from ._request_id import RequestIdLogFilter

__all__ = ["ACCESS_LOGGER", "QueryRedactingFilter", "redacted_access_log"]

#: The logger uvicorn writes request lines to.
ACCESS_LOGGER = "uvicorn.access"


class QueryRedactingFilter(RequestIdLogFilter):
    """Rewrites the request target in access-log records (uvicorn's format: ``args[2]``), and
    sets ``record.request_id`` (``python -m reference_app``'s access format prints it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        super().filter(record)
        args = record.args
        target = args[2] if isinstance(args, tuple) and len(args) > 2 else None
        if isinstance(args, tuple) and isinstance(target, str) and "?" in target:
            record.args = (*args[:2], redact_url(target), *args[3:])
        return True


@contextlib.contextmanager
def redacted_access_log(logger_name: str = ACCESS_LOGGER) -> Iterator[QueryRedactingFilter]:
    """Install the filter for the duration of the block (an app's lifespan), then remove it."""
    logger = logging.getLogger(logger_name)
    redacting = QueryRedactingFilter()
    logger.addFilter(redacting)
    try:
        yield redacting
    finally:
        logger.removeFilter(redacting)
