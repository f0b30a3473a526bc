"""ApmView: a per-test view of an app's APM registry (duck-typed, see docs/architecture.md);
which registry an app has, and which view reads it."""

from __future__ import annotations

import sys
from typing import Any

from ._apm_prometheus import PrometheusView, is_prometheus_registry
from ._wrapped import app_state

__all__ = ["ApmView", "app_apm", "view_of"]


#: What prometheus_client's default registry holds before any app registers a metric.
_DEFAULT_FAMILIES = ("python_", "process_")


def app_apm(app: Any) -> Any:
    """``app.state.apm``; else prometheus_client's default registry, where the common
    instrumentations record, once some code registered a metric of its own there; else None."""
    apm = getattr(app_state(app), "apm", None)
    if apm is not None:
        return apm
    registry = getattr(sys.modules.get("prometheus_client"), "REGISTRY", None)
    if registry is None or not is_prometheus_registry(registry):
        return None
    own = (m for m in registry.collect() if not m.name.startswith(_DEFAULT_FAMILIES))
    return registry if next(own, None) is not None else None


def view_of(apm: Any, refused: list[str] | None = None) -> ApmView | PrometheusView:
    """The per-test view of ``apm``, started (reset, or counting from now); ``refused``: the
    app's prometheus registrations refused (see :class:`PrometheusView`)."""
    if not hasattr(apm, "endpoint") and is_prometheus_registry(apm):
        return PrometheusView(apm, refused=refused).start()
    return ApmView(apm).start()


class ApmView:
    """Delegates to the app's APM object (``endpoint``/``external``/``db``/``alerts``/``reset``)
    and resets it when started, so every test starts from zero."""

    def __init__(self, apm: Any) -> None:
        wanted = ("endpoint", "external", "db", "alerts", "reset")
        missing = [a for a in wanted if not hasattr(apm, a)]
        if missing:
            raise TypeError(
                f"{type(apm).__name__!r} is not an APM registry (missing {', '.join(missing)}); "
                "expose app.state.apm or override the hardening_apm fixture"
            )
        self.registry = apm

    def start(self) -> ApmView:
        self.registry.reset()
        return self

    def endpoint(self, key: str) -> Any:
        """Stats for one route, e.g. ``endpoint("POST /api/calls")``."""
        return self.registry.endpoint(key)

    def external(self, provider: str) -> Any:
        return self.registry.external(provider)

    def db(self, operation: str | None = None) -> Any:
        """All database operations, or one (``db("insert_call")``) when the registry's
        ``db`` takes an operation name."""
        return self.registry.db() if operation is None else self.registry.db(operation)

    @property
    def alerts(self) -> list[Any]:
        return list(self.registry.alerts)

    def reset(self) -> None:
        self.registry.reset()

    def summary(self) -> Any:
        summary = getattr(self.registry, "summary", None)
        return summary() if callable(summary) else None
