"""pytest-hardening: prove a Python backend survives provider outages, bad production
configuration and leaking error reports.

Load the pytest plugin with ``pytest -p pytest_hardening``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._apm import ApmView
    from ._apm_prometheus import PrometheusView
    from ._apm_requests import RequestStats
    from ._breakers import (
        AioBreakerAdapter,
        BreakerAdapter,
        BreakerInspector,
        BreakerState,
        CircuitbreakerAdapter,
        NativeBreaker,
        ObservedBreaker,
        PurgatoryAdapter,
        PurgatoryRegistry,
        PyBreakerAdapter,
        adapt_breaker,
    )
    from ._clock import Clock
    from ._clock_deadlines import FrozenDeadlineError
    from ._env import EnvPatch
    from ._fault_calls import Call
    from ._faults import FaultInjector, RealSleepWarning, UnregisteredHostError
    from ._fresh_import import StaleImportWarning, app_from_import
    from ._harness import Harness, HarnessError
    from ._left_threads import LeftRunningWarning
    from ._lifespan import LifespanError, LifespanManager
    from ._loop_deadlines import LoopDeadlineWarning
    from ._network import NetworkBlockedError, NetworkGuard
    from ._prod_config import ProdConfigChecker
    from ._prod_report import AuditReport
    from ._prod_variants import Mutation
    from ._providers import Provider
    from ._retry_storm import RetryStormError
    from ._reuse import AppPool, AppReuseWarning
    from ._route_table import route_table
    from ._routes import RouteAuditor
    from ._sentry import SentryCapture
    from ._sentry_guard import SentryGuard


# Public names resolve on first use (PEP 562): loading the plugin must not import respx,
# freezegun, sentry_sdk and friends for a suite that never touches a hardening fixture.
_EXPORTS: dict[str, str] = {
    "AioBreakerAdapter": "._breakers",
    "ApmView": "._apm",
    "AppPool": "._reuse",
    "AppReuseWarning": "._reuse",
    "AuditReport": "._prod_report",
    "BreakerAdapter": "._breakers",
    "BreakerInspector": "._breakers",
    "BreakerState": "._breakers",
    "Call": "._fault_calls",
    "CircuitbreakerAdapter": "._breakers",
    "Clock": "._clock",
    "EnvPatch": "._env",
    "FaultInjector": "._faults",
    "FrozenDeadlineError": "._clock_deadlines",
    "Harness": "._harness",
    "HarnessError": "._harness",
    "NetworkBlockedError": "._network",
    "NetworkGuard": "._network",
    "LeftRunningWarning": "._left_threads",
    "LifespanError": "._lifespan",
    "LifespanManager": "._lifespan",
    "LoopDeadlineWarning": "._loop_deadlines",
    "Mutation": "._prod_variants",
    "NativeBreaker": "._breakers",
    "ObservedBreaker": "._breakers",
    "ProdConfigChecker": "._prod_config",
    "PrometheusView": "._apm_prometheus",
    "Provider": "._providers",
    "PurgatoryAdapter": "._breakers",
    "PurgatoryRegistry": "._breakers",
    "PyBreakerAdapter": "._breakers",
    "RealSleepWarning": "._faults",
    "RequestStats": "._apm_requests",
    "RetryStormError": "._retry_storm",
    "RouteAuditor": "._routes",
    "SentryCapture": "._sentry",
    "SentryGuard": "._sentry_guard",
    "StaleImportWarning": "._fresh_import",
    "UnregisteredHostError": "._faults",
    "adapt_breaker": "._breakers",
    "app_from_import": "._fresh_import",
    "route_table": "._route_table",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        loaded = importlib.import_module(module, __name__)
    except AttributeError as error:
        # Raised inside a dependency's import (a respx meeting an httpx too old for it):
        # `from pytest_hardening import X` would turn it into a bare "cannot import name".
        raise ImportError(_not_importable(name, error)) from error
    value = getattr(loaded, name)
    globals()[name] = value
    return value


def _not_importable(name: str, error: AttributeError) -> str:
    from ._requirements import requirements_message, unmet_requirements

    unmet = unmet_requirements()
    why = f"\n{requirements_message(unmet)}" if unmet else ""
    return f"pytest_hardening.{name} cannot be imported: {type(error).__name__}: {error}{why}"


# Loading the package with ``-p pytest_hardening`` (autoload disabled) registers the plugin
# module through this hook; with autoload, the entry point registers it directly under the
# name ``pytest_hardening`` so pytest never registers it twice.
pytest_plugins = ["pytest_hardening._plugin"]

__all__: list[str] = [
    "AioBreakerAdapter",
    "ApmView",
    "AppPool",
    "AppReuseWarning",
    "AuditReport",
    "BreakerAdapter",
    "BreakerInspector",
    "BreakerState",
    "Call",
    "CircuitbreakerAdapter",
    "Clock",
    "EnvPatch",
    "FaultInjector",
    "FrozenDeadlineError",
    "Harness",
    "HarnessError",
    "LeftRunningWarning",
    "LifespanError",
    "LifespanManager",
    "LoopDeadlineWarning",
    "Mutation",
    "NativeBreaker",
    "NetworkBlockedError",
    "NetworkGuard",
    "ObservedBreaker",
    "ProdConfigChecker",
    "PrometheusView",
    "Provider",
    "PurgatoryAdapter",
    "PurgatoryRegistry",
    "PyBreakerAdapter",
    "RealSleepWarning",
    "RequestStats",
    "RetryStormError",
    "RouteAuditor",
    "SentryCapture",
    "SentryGuard",
    "StaleImportWarning",
    "UnregisteredHostError",
    "adapt_breaker",
    "app_from_import",
    "route_table",
]
