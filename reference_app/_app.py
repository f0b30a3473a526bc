"""The application factory: one self-contained app instance per call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from reference_app._breaker_reporting import report_transition
from reference_app._cutoff import CutoffMiddleware
from reference_app._lifespan import make_lifespan
from reference_app._limits import BodyLimitMiddleware
from reference_app._security_headers import SecurityHeadersMiddleware
from reference_app.api import (
    MerchantRateLimiter,
    auth_router,
    calls_router,
    dev_router,
    install_error_handlers,
    monitoring_router,
    webhooks_router,
)
from reference_app.config import (
    SERVICE_BREAKERS,
    ConfigurationError,
    Settings,
    load_settings,
)
from reference_app.observability import (
    ApmMiddleware,
    ApmRegistry,
    BreakerCollector,
    RequestIdMiddleware,
    SystemMonitor,
    init_sentry,
    report_refused_boot,
)
from reference_app.resilience import BreakerRegistry, build_service_breakers

__all__ = ["build_breakers", "create_app"]


def build_breakers(
    settings: Settings, *, clock: Callable[[], float] | None = None
) -> BreakerRegistry:
    """The app's breakers (``SERVICE_BREAKERS``), open timeouts from BREAKER_OPEN_TIMEOUTS."""
    overrides = {name: {"open_timeout": s} for name, s in settings.breaker_open_timeouts.items()}
    return build_service_breakers(overrides, services=SERVICE_BREAKERS, clock=clock)


def create_app(
    settings: Settings | None = None,
    *,
    http_transport: httpx.AsyncBaseTransport | None = None,
    sentry_transport: Any = None,
    clock: Callable[[], float] | None = None,
) -> FastAPI:
    """Build the app. With no ``settings`` they are read from ``os.environ`` now, and a refused
    configuration raises :class:`~reference_app.config.ConfigurationError` here, after it is
    reported to Sentry when ``SENTRY_DSN`` is a valid one (one event, flushed before raising:
    ``uvicorn --factory`` and ``hardening serve`` exit right after).

    ``http_transport`` carries every outbound provider request (tests: ``httpx.MockTransport``);
    ``sentry_transport`` replaces Sentry's transport (tests capture events with it); ``clock``
    (monotonic seconds) drives the breakers. Nothing does I/O until the lifespan starts.
    """
    if settings is None:
        try:
            settings = load_settings()
        except ConfigurationError as refused:
            # Sentry first: a boot refused before Sentry could start is reported all the same.
            # (Configuration checks build the app under SentryGuard, which keeps it in memory.)
            report_refused_boot(refused, transport=sentry_transport)
            raise
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
        # No trailing-slash redirects: they were built from the request's Host header (an
        # attacker's "Host: evil.com" became the Location) and downgraded to http.
        redirect_slashes=False,
    )
    app.state.settings = settings
    app.state.breakers = breakers = build_breakers(settings, clock=clock)
    breakers.add_listener(report_transition)
    # Breaker state and transitions in the app's Prometheus exposition.
    app.state.breaker_metrics = breaker_metrics = BreakerCollector(breakers)
    breakers.add_listener(breaker_metrics.record)
    apm.prometheus.register(breaker_metrics)
    app.state.apm = apm
    app.state.sentry = sentry
    app.state.system_monitor = SystemMonitor(apm)
    app.state.services = None
    app.state.rate_limiter = MerchantRateLimiter(settings.merchant_rate_limit, clock)
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
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
    )
    app.add_middleware(SecurityHeadersMiddleware, production=production)
    # Before anything parses a body: 413 past 1 MiB, 408 for a trickling body.
    app.add_middleware(BodyLimitMiddleware)
    # Times everything (CORS included) and sees every final status.
    app.add_middleware(ApmMiddleware, registry=apm)
    # A request cut off at the end of the shutdown grace answers 503, not 500.
    app.add_middleware(CutoffMiddleware)
    # Outermost: every response (the 503 above too) carries its request ID.
    app.add_middleware(RequestIdMiddleware)
    return app
