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
