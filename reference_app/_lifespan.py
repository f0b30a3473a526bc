"""Startup and graceful shutdown of one app instance."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import httpx
from fastapi import FastAPI

from reference_app._services import build_services
from reference_app.db import DatabaseUnavailable

__all__ = ["SENTRY_FLUSH_SECONDS", "make_lifespan"]

logger = logging.getLogger("reference_app")

SENTRY_FLUSH_SECONDS = 5.0


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
        try:
            try:
                await services.repository.create_tables()
            except DatabaseUnavailable:
                logger.error("database unavailable at startup; tables are created on first use")
            await state.system_monitor.start()
            logger.info(
                "reference_app started in %s mode; test routes %s",
                "production" if settings.is_production else "development",
                "not mounted" if settings.is_production else "mounted at /api/test",
            )
            yield
        finally:
            logger.info("reference_app shutting down")
            try:
                await state.system_monitor.stop()
                await services.aclose()
            finally:
                state.services = None
                # Events captured during shutdown must still leave the process.
                state.sentry.flush(SENTRY_FLUSH_SECONDS)

    return lifespan
