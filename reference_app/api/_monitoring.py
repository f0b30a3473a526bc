"""``/api/monitoring``: health, metrics, breakers, system, Prometheus, reset.

In production, everything but the bare health status needs the admin token
(docs/production-checklist.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.responses import JSONResponse

from reference_app.db import DatabaseUnavailable
from reference_app.resilience import BreakerRegistry, State

from ._deps import ServicesDep, SettingsDep, is_admin, require_admin, require_admin_in_production

__all__ = ["health_status", "monitoring_router"]

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Which app instance answered (``INSTANCE_ID``, else ``hostname:pid``): in a fleet, breakers
#: and metrics are each instance's own.
INSTANCE_HEADER = "X-Instance-Id"


async def _name_instance(request: Request, response: Response) -> None:
    # async: a plain def dependency runs in FastAPI's thread pool, a thread hop per request.
    instance = getattr(request.app.state, "instance_id", None)
    if instance:
        response.headers[INSTANCE_HEADER] = instance


def health_status(breakers: BreakerRegistry, database_ok: bool) -> str:
    """unhealthy: the database is down (or its breaker open); degraded: any breaker not CLOSED."""
    if not database_ok or breakers["database"].state is State.OPEN:
        return "unhealthy"
    if any(b.state is not State.CLOSED for b in breakers.values()):
        return "degraded"
    return "healthy"


def _iso_now() -> str:
    """Now, ISO-8601 in UTC with milliseconds (``2026-03-01T12:00:00.000Z``)."""
    now = dt.datetime.now(dt.timezone.utc)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _instance_header(request: Request) -> dict[str, str]:
    instance = getattr(request.app.state, "instance_id", None)
    return {INSTANCE_HEADER: instance} if instance else {}


def monitoring_router() -> APIRouter:
    router = APIRouter(
        prefix="/api/monitoring", tags=["monitoring"], dependencies=[Depends(_name_instance)]
    )
    details = [Depends(require_admin_in_production)]

    @router.get("/health")
    async def health(request: Request, app: ServicesDep, config: SettingsDep) -> JSONResponse:
        breakers: BreakerRegistry = request.app.state.breakers
        database_ok = breakers["database"].state is not State.OPEN
        if database_ok:
            try:
                await app.repository.ping()
            except DatabaseUnavailable:
                database_ok = False
        overall = health_status(breakers, database_ok)
        code = status.HTTP_503_SERVICE_UNAVAILABLE if overall == "unhealthy" else 200
        body: dict[str, Any] = {"status": overall, "timestamp": _iso_now()}
        if not config.is_production or is_admin(request):
            summary = request.app.state.apm.summary()
            body.update(
                instance=getattr(request.app.state, "instance_id", None),
                mode="production" if config.is_production else "development",
                database={"ok": database_ok},
                circuit_breakers={name: b.state.value for name, b in breakers.items()},
                # failure_rate: failures / (successes + failures) since start or reset, 0..1.
                breakers={
                    name: {"state": m.state.value, "failure_rate": m.failure_rate}
                    for name, m in ((n, b.metrics()) for n, b in breakers.items())
                },
                apm={k: summary[k] for k in ("requests", "database", "externals", "alerts")},
                slowest_endpoints=summary["slowest_endpoints"],
            )
        return JSONResponse(body, status_code=code, headers=_instance_header(request))

    @router.get("/metrics", dependencies=details)
    async def metrics(request: Request) -> dict[str, Any]:
        summary: dict[str, Any] = request.app.state.apm.summary()
        return summary

    @router.get("/circuit-breakers", dependencies=details)
    async def circuit_breakers(request: Request) -> dict[str, Any]:
        breakers: BreakerRegistry = request.app.state.breakers
        return {"circuit_breakers": breakers.snapshot()}

    @router.get("/system", dependencies=details)
    async def system(request: Request) -> dict[str, Any]:
        snapshot: dict[str, Any] = await request.app.state.system_monitor.sample_async()
        return snapshot

    @router.get("/prometheus", dependencies=details)
    async def prometheus(request: Request) -> Response:
        return Response(
            request.app.state.apm.prometheus_text(),
            media_type=PROMETHEUS_CONTENT_TYPE,
            headers=_instance_header(request),
        )

    @router.post("/reset", dependencies=[Depends(require_admin)])
    async def reset(request: Request) -> dict[str, str]:
        request.app.state.apm.reset()
        request.app.state.breaker_metrics.reset()
        return {"result": "metrics reset"}

    return router
