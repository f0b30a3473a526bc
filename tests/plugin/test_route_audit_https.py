"""An app whose production build sends plain HTTP to https (``HTTPSRedirectMiddleware``) is
probed over https: every path answered 307 to the http probe, so a route gone from production
read as "still reachable" (a trial's app)."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.httpsredirect import HTTPSRedirectMiddleware
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from pytest_hardening import RouteAuditor


def ok(request: object) -> JSONResponse:
    return JSONResponse({})


def build(*, production: bool, keep_debug: bool = False) -> Starlette:
    routes = [Route("/health", ok)]
    if not production or keep_debug:
        routes.append(Route("/debug", ok))
    routes.append(Route("/old", lambda request: RedirectResponse("https://elsewhere.example/")))
    middleware = [Middleware(HTTPSRedirectMiddleware)] if production else []
    return Starlette(routes=routes, middleware=middleware)


def test_a_route_gone_from_production_is_proven_absent_over_https() -> None:
    audit = RouteAuditor(lambda: build(production=False), lambda: build(production=True))
    assert audit.dev_only() == {("GET", "/debug")}
    audit.assert_absent_in_production("/debug")
    audit.assert_absent_in_production("/nothing-here")


def test_a_route_kept_in_production_is_still_found_over_https() -> None:
    audit = RouteAuditor(
        lambda: build(production=False), lambda: build(production=True, keep_debug=True)
    )
    with pytest.raises(AssertionError, match="GET /debug answered 200, expected 404"):
        audit.assert_absent_in_production("/debug")


def test_a_redirect_elsewhere_is_the_routes_own_answer() -> None:
    audit = RouteAuditor(lambda: build(production=False), lambda: build(production=False))
    with pytest.raises(AssertionError, match="GET /old answered 307, expected 404"):
        audit.assert_absent_in_production("/old")
