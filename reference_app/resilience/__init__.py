"""Circuit breakers for the reference app's dependencies (SPEC §2.1).

::

    breakers = build_service_breakers({"exotel": {"open_timeout": 5.0}})
    exotel = breakers["exotel"]

    response = await exotel.acall(client.post, url, data=form, fallback=lambda err: None)

    @exotel                       # or as a decorator, on def or async def
    async def place_call(...): ...

Open breakers raise :class:`CircuitOpenError` (``.name``, ``.retry_after``) or return the
caller's ``fallback(error)``. ``python -m reference_app.resilience`` prints one breaker's life
cycle under injected failures.
"""

from __future__ import annotations

from ._breaker import CircuitBreaker
from ._clock import ManualClock
from ._errors import CircuitOpenError
from ._http import http_failure
from ._metrics import BreakerMetrics
from ._policy import ConsecutiveFailures, FailureRate, TripPolicy
from ._registry import SERVICE_BREAKERS, BreakerConfig, BreakerRegistry, build_service_breakers
from ._state import State, Transition

__all__ = [
    "SERVICE_BREAKERS",
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
