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
from reference_app._redial import RedialWorker
from reference_app._redial_policy import instance_id
from reference_app._services import build_services
from reference_app.db import DatabaseUnavailable
from reference_app.observability import redacted_access_log

__all__ = ["REDIAL_POLL_SECONDS", "SENTRY_FLUSH_SECONDS", "UPLOAD_RETRY_SECONDS", "make_lifespan"]

logger = logging.getLogger("reference_app")

SENTRY_FLUSH_SECONDS = 5.0
#: How often recordings whose Wasabi upload failed are retried.
UPLOAD_RETRY_SECONDS = 300.0
#: Real seconds between the re-dial worker's checks (whether a round is due is decided by the
#: breaker clock; see reference_app/_redial.py).
REDIAL_POLL_SECONDS = 0.5


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
        state.instance_id = instance_id()
        state.redial = RedialWorker(services.calls, state.instance_id)
        retry: asyncio.Task[None] | None = None
        redial: asyncio.Task[None] | None = None
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
                redial = asyncio.get_running_loop().create_task(
                    state.redial.run(REDIAL_POLL_SECONDS), name="reference_app.redial"
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
                    state.redial.stop()
                    for task in (redial, retry):
                        if task is not None:
                            task.cancel()
                            with contextlib.suppress(asyncio.CancelledError):
                                await task
                    await state.system_monitor.stop()
                    # Dialled calls whose CallSid is not stored yet: one last attempt.
                    await services.calls.flush_pending_writes()
                    await services.aclose()
                finally:
                    state.services = None
                    # Events captured during shutdown must still leave the process.
                    state.sentry.flush(SENTRY_FLUSH_SECONDS)

    return lifespan
