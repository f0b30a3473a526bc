"""ApmView: a per-test view of an app's APM registry (duck-typed, see docs/architecture.md)."""

from __future__ import annotations

from typing import Any

__all__ = ["ApmView"]


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
