"""Exception handlers: no stack traces, no echoed input, 503 + Retry-After for the database."""

from __future__ import annotations

import logging
import math

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from reference_app.db import DatabaseUnavailable
from reference_app.observability import ERRORS_LOGGER

__all__ = ["install_error_handlers"]

logger = logging.getLogger(ERRORS_LOGGER)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    # FastAPI's default 422 includes each submitted value ("input"): drop it (PII, secrets).
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": err.get("type")}
        for err in exc.errors()
    ]
    return JSONResponse({"detail": errors}, status_code=422)


async def _database_unavailable(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DatabaseUnavailable)
    retry = max(1, math.ceil(exc.retry_after))
    return JSONResponse(
        {"detail": "database unavailable, retry later"},
        status_code=503,
        headers={"Retry-After": str(retry)},
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    # Logged (and reported by Sentry's integration) server-side; the client sees nothing of it.
    logger.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"detail": "internal server error"}, status_code=500)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(DatabaseUnavailable, _database_unavailable)
    app.add_exception_handler(Exception, _unhandled)
