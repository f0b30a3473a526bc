"""Circuit breakers of any library, behind one small adapter protocol.

``BreakerInspector`` reads state and transitions and forces/resets breakers by name. Adapters
ship for the native protocol (``reference_app.resilience``), pybreaker, aiobreaker,
circuitbreaker (fabfuel) and purgatory; anything else follows the protocol in ``_base``
(documented in docs/fixtures.md, "Your own breaker").
"""

from __future__ import annotations

from ._adapt import BreakerRegistry, adapt_breaker, breaker_registry
from ._base import ADAPTER_PROTOCOL, BreakerAdapter, BreakerState, TransitionListener
from ._circuitbreaker import CircuitbreakerAdapter
from ._inspector import BreakerInspector
from ._native import NativeBreaker, ObservedBreaker
from ._purgatory import PurgatoryAdapter, PurgatoryRegistry
from ._pybreaker import AioBreakerAdapter, PyBreakerAdapter

__all__ = [
    "ADAPTER_PROTOCOL",
    "AioBreakerAdapter",
    "BreakerAdapter",
    "BreakerInspector",
    "BreakerRegistry",
    "BreakerState",
    "CircuitbreakerAdapter",
    "NativeBreaker",
    "ObservedBreaker",
    "PurgatoryAdapter",
    "PurgatoryRegistry",
    "PyBreakerAdapter",
    "TransitionListener",
    "adapt_breaker",
    "breaker_registry",
]
