"""App factories for live tests, loaded by uvicorn in a subprocess (``--factory``)."""

from __future__ import annotations

from fastapi import FastAPI

from reference_app import create_app
from reference_app.resilience import BreakerConfig, BreakerRegistry

#: High enough that no load test can open it: the Exotel breaker never trips.
NEVER = 10**9


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
