"""The APM summary the monitoring routes serve: a registry's views as one JSON-able dict.

The registry records and keeps the numbers; this is only their layout (requests, endpoints,
database, externals per provider and operation, alerts), read through the registry's public
views, so it needs no lock of its own.
"""

from __future__ import annotations

from typing import Any, Protocol

from ._stats import Alert, Stats

__all__ = ["ApmViews", "summarise"]


class ApmViews(Protocol):
    """The views of :class:`~reference_app.observability.ApmRegistry` a summary reads."""

    def endpoints(self) -> dict[str, Stats]: ...

    def slowest_endpoints(self, limit: int = 5) -> list[dict[str, Any]]: ...

    def db(self, operation: str | None = None) -> Stats: ...

    def db_operations(self) -> dict[str, Stats]: ...

    def externals(self) -> dict[str, Stats]: ...

    def external_operations(self) -> dict[str, Stats]: ...

    @property
    def alerts(self) -> list[Alert]: ...


def summarise(apm: ApmViews) -> dict[str, Any]:
    """Everything ``apm`` recorded, JSON-able (``ApmRegistry.summary``)."""
    endpoints = apm.endpoints()
    requests = sum(s.count for s in endpoints.values())
    errors = sum(s.errors for s in endpoints.values())
    return {
        "requests": {
            "count": requests,
            "errors": errors,
            "error_rate": errors / requests if requests else 0.0,
        },
        "endpoints": {key: s.as_dict() for key, s in endpoints.items()},
        "slowest_endpoints": apm.slowest_endpoints(),
        "database": {
            **apm.db().as_dict(),
            "operations": {op: s.as_dict() for op, s in apm.db_operations().items()},
        },
        "externals": {
            provider: {
                **stats.as_dict(),
                "operations": {
                    key.split(".", 1)[1]: s.as_dict()
                    for key, s in apm.external_operations().items()
                    if key.split(".", 1)[0] == provider
                },
            }
            for provider, stats in apm.externals().items()
        },
        "alerts": [a.as_dict() for a in apm.alerts],
    }
