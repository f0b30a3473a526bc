"""App factories for live tests, loaded by uvicorn in a subprocess (``--factory``)."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.middleware import Middleware

from reference_app import create_app
from reference_app._limits import BodyLimitMiddleware
from reference_app.resilience import BreakerConfig, BreakerRegistry

#: High enough that no load test can open it: the Exotel breaker never trips.
NEVER = 10**9
#: The body timeout of :func:`app_with_short_body_timeout`: a stalled body is refused after
#: this long, instead of the production 15 s (BODY_TIMEOUT_SECONDS).
SHORT_BODY_TIMEOUT = 1.0


def app_without_exotel_breaker() -> FastAPI:
    """The reference app with an Exotel breaker that never opens: the "no breaker" baseline.

    The lifespan builds the provider clients from ``app.state.breakers``, so replacing the
    registry before startup is enough (the reference app has no setting for thresholds).
    """
    app = create_app()
    breakers = dict(app.state.breakers)
    breakers["exotel"] = BreakerConfig(failure_threshold=NEVER).build("exotel")
    app.state.breakers = BreakerRegistry(breakers.values())
    return app


def app_with_short_body_timeout() -> FastAPI:
    """The reference app whose body limit gives each body chunk :data:`SHORT_BODY_TIMEOUT`
    seconds (the limit itself, and everything else, as in production)."""
    app = create_app()
    app.user_middleware = [
        Middleware(BodyLimitMiddleware, chunk_timeout=SHORT_BODY_TIMEOUT)
        if entry.cls is BodyLimitMiddleware
        else entry
        for entry in app.user_middleware
    ]
    return app
