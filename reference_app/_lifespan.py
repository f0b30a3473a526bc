"""Startup and graceful shutdown of one app instance."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import httpx
from fastapi import FastAPI

from reference_app._calls import CallService
from reference_app._services import build_services
from reference_app.db import DatabaseUnavailable
from reference_app.observability import redacted_access_log

__all__ = ["SENTRY_FLUSH_SECONDS", "UPLOAD_RETRY_SECONDS", "make_lifespan"]

logger = logging.getLogger("reference_app")

SENTRY_FLUSH_SECONDS = 5.0
#: How often recordings whose Wasabi upload failed are retried.
UPLOAD_RETRY_SECONDS = 300.0


async def _retry_uploads(calls: CallService, interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        try:
            stored = await calls.retry_pending_uploads()
        except Exception:  # e.g. the database is down: the next round retries
            logger.exception("retrying pending recording uploads failed")
            continue
        if stored:
            logger.info("archived %d pending recording(s)", stored)


def make_lifespan(
    http_transport: httpx.AsyncBaseTransport | None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """The lifespan: build clients and engine, create tables, start sampling; undo on exit."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = app.state
        settings = state.settings
        services = build_services(
            settings, state.breakers, state.apm, http_transport=http_transport
        )
        state.services = services
        state.db = services.repository
        state.providers = services.providers
        retry: asyncio.Task[None] | None = None
        # Request lines carry secrets in query strings (the signed status-callback URL).
        with redacted_access_log():
            try:
                try:
                    await services.repository.create_tables()
                except DatabaseUnavailable:
                    logger.error("database unavailable at startup; tables are created on first use")
                await state.system_monitor.start()
                retry = asyncio.get_running_loop().create_task(
                    _retry_uploads(services.calls, UPLOAD_RETRY_SECONDS),
                    name="reference_app.upload_retry",
                )
                logger.info(
                    "reference_app started in %s mode; test routes %s",
                    "production" if settings.is_production else "development",
                    "not mounted" if settings.is_production else "mounted at /api/test",
                )
                yield
            finally:
                logger.info("reference_app shutting down")
                try:
                    if retry is not None:
                        retry.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await retry
                    await state.system_monitor.stop()
                    # Dialled calls whose CallSid is not stored yet: one last attempt.
                    await services.calls.flush_pending_writes()
                    await services.aclose()
                finally:
                    state.services = None
                    # Events captured during shutdown must still leave the process.
                    state.sentry.flush(SENTRY_FLUSH_SECONDS)

    return lifespan
