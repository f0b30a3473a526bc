"""The application factory: one self-contained app instance per call."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from reference_app._breaker_reporting import report_transition
from reference_app._lifespan import make_lifespan
from reference_app.api import (
    auth_router,
    calls_router,
    dev_router,
    install_error_handlers,
    monitoring_router,
    webhooks_router,
)
from reference_app.config import ConfigurationError, Problem, Settings, load_settings
from reference_app.db import normalise_database_url
from reference_app.observability import ApmMiddleware, ApmRegistry, SystemMonitor, init_sentry
from reference_app.resilience import (
    SERVICE_BREAKERS,
    BreakerConfig,
    BreakerRegistry,
    build_service_breakers,
)

__all__ = ["EXTRA_BREAKERS", "build_breakers", "create_app"]

#: Beyond SPEC's five: Google OAuth gets its own breaker so a Google outage only affects sign-in.
EXTRA_BREAKERS: Mapping[str, BreakerConfig] = MappingProxyType(
    {"google": BreakerConfig(5, 2, 60.0, http=True)}
)


def build_breakers(
    settings: Settings, *, clock: Callable[[], float] | None = None
) -> BreakerRegistry:
    """The five service breakers (open timeouts from BREAKER_OPEN_TIMEOUTS) plus ``google``."""
    overrides = {
        name: {"open_timeout": seconds}
        for name, seconds in settings.breaker_open_timeouts.items()
        if name in SERVICE_BREAKERS
    }
    service = build_service_breakers(overrides, clock=clock)
    extra = [config.build(name, clock=clock) for name, config in EXTRA_BREAKERS.items()]
    return BreakerRegistry([*service.values(), *extra])


def _check_database_url(settings: Settings) -> None:
    url = settings.database_url.get_secret_value() if settings.database_url else None
    try:
        normalise_database_url(url)
    except ValueError as exc:
        raise ConfigurationError([Problem("DATABASE_URL", str(exc))]) from None


def create_app(
    settings: Settings | None = None,
    *,
    http_transport: httpx.AsyncBaseTransport | None = None,
    sentry_transport: Any = None,
    clock: Callable[[], float] | None = None,
) -> FastAPI:
    """Build the app. With no ``settings`` they are read from ``os.environ`` now, and a refused
    production configuration raises :class:`~reference_app.config.ConfigurationError` here.

    ``http_transport`` carries every outbound provider request (tests: ``httpx.MockTransport``);
    ``sentry_transport`` replaces Sentry's transport (tests capture events with it); ``clock``
    (monotonic seconds) drives the breakers. Nothing does I/O until the lifespan starts.
    """
    if settings is None:
        settings = load_settings()
    _check_database_url(settings)
    production = settings.is_production
    # Sentry first, so that everything after it is covered.
    sentry = init_sentry(settings, transport=sentry_transport)
    apm = ApmRegistry()
    app = FastAPI(
        title="reference_app",
        summary="AI order-confirmation calls for Shopify merchants, production-hardened.",
        version="0.1.0",
        # Production serves no interactive docs and no public schema; app.openapi() still works
        # (the route audit reads it).
        docs_url=None if production else "/docs",
        redoc_url=None if production else "/redoc",
        openapi_url=None if production else "/openapi.json",
        lifespan=make_lifespan(http_transport),
    )
    app.state.settings = settings
    app.state.breakers = breakers = build_breakers(settings, clock=clock)
    breakers.add_listener(report_transition)
    app.state.apm = apm
    app.state.sentry = sentry
    app.state.system_monitor = SystemMonitor(apm)
    app.state.services = None
    install_error_handlers(app)
    for router in (calls_router(), webhooks_router(), auth_router(), monitoring_router()):
        app.include_router(router)
    if not production:
        app.include_router(dev_router())
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
    )
    # Outermost, so it times everything (CORS included) and sees every final status.
    app.add_middleware(ApmMiddleware, registry=apm)
    return app
