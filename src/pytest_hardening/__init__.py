"""pytest-hardening: prove a Python backend survives provider outages, bad production
configuration and leaking error reports.

Load the pytest plugin with ``pytest -p pytest_hardening``.
"""

from __future__ import annotations

from ._apm import ApmView
from ._app import LifespanError, LifespanManager
from ._breakers import (
    BreakerAdapter,
    BreakerInspector,
    BreakerState,
    NativeBreaker,
    PyBreakerAdapter,
    adapt_breaker,
)
from ._clock import Clock
from ._env import EnvPatch
from ._faults import Call, FaultInjector, UnregisteredHostError
from ._prod_config import AuditReport, Mutation, ProdConfigChecker
from ._providers import Provider
from ._routes import RouteAuditor, route_table
from ._sentry import SentryCapture, SentryGuard

# Loading the package with ``-p pytest_hardening`` (autoload disabled) registers the plugin
# module through this hook; with autoload, the entry point registers it directly under the
# name ``pytest_hardening`` so pytest never registers it twice.
pytest_plugins = ["pytest_hardening._plugin"]

__all__: list[str] = [
    "ApmView",
    "AuditReport",
    "BreakerAdapter",
    "BreakerInspector",
    "BreakerState",
    "Call",
    "Clock",
    "EnvPatch",
    "FaultInjector",
    "LifespanError",
    "LifespanManager",
    "Mutation",
    "NativeBreaker",
    "ProdConfigChecker",
    "Provider",
    "PyBreakerAdapter",
    "RouteAuditor",
    "SentryCapture",
    "SentryGuard",
    "UnregisteredHostError",
    "adapt_breaker",
    "route_table",
]
