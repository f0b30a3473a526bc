"""The app redacts uvicorn's access log while it runs, and leaves the logger as it found it."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.testclient import TestClient

from reference_app.observability import QueryRedactingFilter


def _redacting(logger: logging.Logger) -> int:
    return sum(isinstance(f, QueryRedactingFilter) for f in logger.filters)


def test_access_log_is_redacted_during_the_lifespan_only(app: FastAPI) -> None:
    # Relative: another app instance may be running in this process (one kept between tests
    # by the harness has its own filter in place for its own lifespan).
    logger = logging.getLogger("uvicorn.access")
    before = _redacting(logger)
    with TestClient(app):
        assert _redacting(logger) == before + 1
    assert _redacting(logger) == before
