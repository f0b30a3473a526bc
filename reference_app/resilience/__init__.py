"""Circuit breakers for the reference app's dependencies (docs/circuit-breakers-by-example.md).

::

    exotel = CircuitBreaker("exotel", failure_threshold=5, success_threshold=2, open_timeout=60)

    response = await exotel.acall(client.post, url, data=form, fallback=lambda err: None)

    @exotel                       # or as a decorator, on def or async def
    async def place_call(...): ...

    breakers = build_service_breakers(services={"exotel": BreakerConfig(5, 2, 60.0)})

Open breakers raise :class:`CircuitOpenError` (``.name``, ``.retry_after``) or return the
caller's ``fallback(error)``. The reference app's own table of breakers is
``reference_app.config.SERVICE_BREAKERS``.
"""

from __future__ import annotations

from ._breaker import CircuitBreaker
from ._clock import ManualClock
from ._errors import CircuitOpenError
from ._http import http_failure
from ._metrics import BreakerMetrics
from ._policy import ConsecutiveFailures, FailureRate, TripPolicy
from ._registry import BreakerConfig, BreakerRegistry, build_service_breakers
from ._state import State, Transition

__all__ = [
    "BreakerConfig",
    "BreakerMetrics",
    "BreakerRegistry",
    "CircuitBreaker",
    "CircuitOpenError",
    "ConsecutiveFailures",
    "FailureRate",
    "ManualClock",
    "State",
    "Transition",
    "TripPolicy",
    "build_service_breakers",
    "http_failure",
]
