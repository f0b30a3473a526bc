"""route_table flattens included routers (eager or lazy) and mounts."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Mount, Route

from pytest_hardening import route_table


def test_included_routers_nested_and_mounts() -> None:
    inner = APIRouter(prefix="/inner")
    inner.add_api_route("/leaf/{item_id}", lambda item_id: item_id, methods=["PUT"])
    outer = APIRouter(prefix="/api")
    outer.add_api_route("/ping", lambda: "pong", methods=["GET", "POST"])
    outer.include_router(inner)
    app = FastAPI(openapi_url=None)
    app.include_router(outer)

    def hello(request: object) -> PlainTextResponse:
        return PlainTextResponse("hi")

    app.mount("/legacy", Starlette(routes=[Route("/hello", hello)]))
    assert route_table(app) == {
        ("GET", "/api/ping"),
        ("POST", "/api/ping"),
        ("PUT", "/api/inner/leaf/{item_id}"),
        ("GET", "/legacy/hello"),
    }


def test_apps_without_routes_have_an_empty_table() -> None:
    assert route_table(object()) == set()
    assert route_table(Starlette(routes=[Mount("/m", routes=[])])) == set()


class _Route:
    """A route as Litestar's ``app.routes`` lists it: every path also answers OPTIONS."""

    def __init__(self, path: str, *methods: str) -> None:
        self.path = path
        self.methods = {*methods, "OPTIONS"}


class _RoutedApp:
    def __init__(self, *routes: _Route) -> None:
        self.routes = list(routes)


def test_methods_every_route_gets_are_left_out_unless_the_route_has_no_other() -> None:
    app = _RoutedApp(_Route("/health", "GET", "HEAD"), _Route("/debug/env", "GET"))
    assert route_table(app) == {("GET", "/health"), ("GET", "/debug/env")}

    def preflight(request: object) -> PlainTextResponse:
        return PlainTextResponse("")

    declared = Starlette(routes=[Route("/cors-only", preflight, methods=["OPTIONS"])])
    assert route_table(declared) == {("OPTIONS", "/cors-only")}
