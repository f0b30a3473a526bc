"""A 405 to a development route's own method proves it absent: routing matched the path only
to other routes (a catch-all), none of which takes that method. A 405 to the GET sent for a
route of any method (an endpoint class) proves nothing: the endpoint answers it itself."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from pytest_hardening import RouteAuditor


async def ok(request: Request) -> Response:
    return PlainTextResponse("ok")


async def resource(request: Request) -> Response:  # unknown resource types are 404
    if request.path_params["resource_type"] not in {"records", "collections"}:
        return PlainTextResponse("not found", status_code=404)
    return PlainTextResponse("a resource")


def catch_all_app(development: bool) -> Starlette:
    routes = [Route("/", ok)]
    if development:
        routes.append(Route("/test/{page:str}", ok, methods=["GET", "POST"]))
    routes.append(Route("/{resource_type:str}/{id:str}", resource))  # GET only, matched last
    return Starlette(routes=routes)


def test_a_405_to_the_dev_routes_own_method_proves_it_absent() -> None:
    auditor = RouteAuditor(lambda: catch_all_app(True), lambda: catch_all_app(False))
    assert ("POST", "/test/{page:str}") in auditor.dev_only()
    auditor.assert_absent_in_production("/test")  # POST /test/1 answers 405: the catch-all


class Admin(HTTPEndpoint):
    async def post(self, request: Request) -> Response:
        return PlainTextResponse("reset")


def test_a_405_from_an_endpoint_of_any_method_is_still_reachable() -> None:
    app = Starlette(routes=[Route("/admin", Admin)])  # left in production by mistake
    auditor = RouteAuditor(lambda: app, lambda: app)
    with pytest.raises(AssertionError) as failure:
        auditor.assert_absent_in_production("/admin")
    assert "'/admin' is still reachable in production" in str(failure.value)
    assert "GET /admin answered 405, expected 404" in str(failure.value)


def proxy_app(development: bool) -> Starlette:
    """A proxy: every path it does not own goes upstream, through a client its startup makes."""

    async def forward(request: Request) -> Response:
        return PlainTextResponse(await request.app.state.upstream.send(request))

    routes = [Route("/_proxy/calls", ok)] if development else []
    routes.append(Route("/{path:path}", forward))
    return Starlette(routes=routes)


def test_a_500_from_a_catch_all_says_what_it_may_be() -> None:
    auditor = RouteAuditor(lambda: proxy_app(True), lambda: proxy_app(False))
    with pytest.raises(AssertionError) as failure:
        auditor.assert_absent_in_production("/_proxy/calls")
    message = str(failure.value)
    assert "GET /_proxy/calls answered 500, expected 404" in message
    assert "no production route is declared there: a catch-all or a mounted app took it" in message
    assert "the probes run no lifespan" in message
