"""The app's circuit breakers: one per dependency, and how readily each one opens."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from reference_app.resilience import BreakerConfig

__all__ = ["SERVICE_BREAKERS"]

#: Name → failures to open / probe successes to close / seconds open. Google OAuth has its own
#: breaker so that a Google outage only affects sign-in. BREAKER_OPEN_TIMEOUTS may shorten any
#: of the open timeouts (live tests). Every provider client returns a tuple through its
#: breaker and raises for the failures itself, so no breaker here needs a result check.
SERVICE_BREAKERS: Mapping[str, BreakerConfig] = MappingProxyType(
    {
        "exotel": BreakerConfig(5, 2, 60.0),
        "openai": BreakerConfig(5, 2, 60.0),
        "wasabi": BreakerConfig(5, 2, 90.0),
        "shopify": BreakerConfig(5, 2, 60.0),
        "database": BreakerConfig(10, 3, 60.0),
        "google": BreakerConfig(5, 2, 60.0),
    }
)
