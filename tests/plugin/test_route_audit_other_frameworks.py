"""route_audit on apps that are not Starlette: a Quart app's routes are read from its Werkzeug
``url_map``, a raw ASGI app is probed with requests alone, and neither needs Starlette."""

from __future__ import annotations

from typing import Any

import pytest
from quart import Quart

from pytest_hardening import RouteAuditor, route_table


def quart_app(production: bool) -> Quart:
    app = Quart(__name__)

    @app.get("/orders/<int:order_id>")
    async def order(order_id: int) -> dict[str, int]:
        return {"id": order_id}

    if not production:

        @app.post("/admin/reset")
        async def reset() -> str:
            return "reset"

    @app.route("/usps_feed", methods=["POST"])  # left in production by mistake
    async def feed() -> str:
        return "ok"

    return app


def test_a_quart_apps_routes_are_read_and_probed() -> None:
    assert route_table(quart_app(False)) >= {
        ("GET", "/orders/{order_id}"),
        ("POST", "/admin/reset"),
        ("POST", "/usps_feed"),
    }
    auditor = RouteAuditor(lambda: quart_app(False), lambda: quart_app(True))
    assert auditor.dev_only() == {("POST", "/admin/reset")}
    auditor.assert_absent_in_production("/admin")
    with pytest.raises(AssertionError) as info:
        auditor.assert_absent_in_production("/usps_feed")
    assert "route table has POST /usps_feed" in str(info.value)
    assert "POST /usps_feed answered 200, expected 404" in str(info.value)


async def raw_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A bare ASGI callable whose /admin is still served."""
    status = 200 if scope["path"] == "/admin" else 404
    await send({"type": "http.response.start", "status": status, "headers": []})
    await send({"type": "http.response.body", "body": b""})


def test_a_raw_asgi_app_is_probed_and_its_missing_route_table_named() -> None:
    auditor = RouteAuditor(lambda: raw_app, lambda: raw_app)
    with pytest.raises(AssertionError, match="GET /admin answered 200, expected 404"):
        auditor.assert_absent_in_production("/admin")
    auditor.assert_absent_in_production("/debug")  # requests answer 404: nothing to list
    with pytest.raises(TypeError, match=r"no route table understood for a .*function app"):
        auditor.dev_only()


def test_the_plugins_own_client_says_where_websockets_are() -> None:
    from pytest_hardening._asgi_client import sync_test_client

    client = sync_test_client(quart_app(False))
    with pytest.raises(NotImplementedError, match=r"app\.test_client\(\)\.websocket"):
        client.websocket_connect("/track")
