"""Routes an app adds in its startup (LNbits includes its routers in its lifespan) are served
in production, where the server runs the startup: the production route table is read with it
run. Read from the build alone, a route production serves was said absent (a trial's app)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import pytest
from fastapi import APIRouter, FastAPI

from pytest_hardening import RouteAuditor

router = APIRouter()


@router.get("/api/v1/rate/{currency}")
async def rate(currency: str) -> dict[str, str]:
    return {"currency": currency}


def app_adding_its_routes_at_startup(*, broken: bool = False) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if broken:
            raise ConnectionRefusedError("the database is not running here")
        app.include_router(router)
        yield

    return FastAPI(lifespan=lifespan)


def test_a_route_the_startup_adds_is_not_said_absent_in_production() -> None:
    auditor = RouteAuditor(app_adding_its_routes_at_startup, app_adding_its_routes_at_startup)
    with pytest.raises(AssertionError) as failure:
        auditor.assert_absent_in_production("/api/v1/rate")
    assert "route table has GET /api/v1/rate/{currency}" in str(failure.value)
    assert auditor.dev_only() == set()


def test_a_startup_that_fails_leaves_the_routes_as_built() -> None:
    def build() -> FastAPI:
        return app_adding_its_routes_at_startup(broken=True)

    auditor = RouteAuditor(build, build)
    assert ("GET", "/api/v1/rate/{currency}") not in auditor.prod_routes()
    auditor.assert_absent_in_production("/api/v1/rate")  # never added: absent
