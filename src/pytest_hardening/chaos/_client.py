"""The client a chaos run sends with: one hop to the app's event loop per request.

Starlette's ``TestClient`` hands a request to its portal's loop in several hops (the app call,
then each message of the body back and forth), and every hop wakes a thread: on a busy machine
the waits dominate a run. Here a whole request (``httpx.ASGITransport``, answer read) is one
call into the same portal, where the app's lifespan, engine and clients live; the app sees the
same requests, the lifespan state included.
"""

from __future__ import annotations

from typing import Any

import httpx

from pytest_hardening._app import with_state

__all__ = ["one_hop_client"]


class _PortalAsgiTransport(httpx.BaseTransport):
    def __init__(self, portal: Any, asgi: httpx.ASGITransport) -> None:
        self._portal = portal
        self._asgi = asgi

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response: httpx.Response = self._portal.call(self._send, request)
        return response

    async def _send(self, request: httpx.Request) -> httpx.Response:
        inner = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )
        response = await self._asgi.handle_async_request(inner)
        content = await response.aread()
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )


class _OneHopClient(httpx.Client):
    """An ``httpx.Client`` over the app running in ``portal`` (kept as :attr:`portal`, for
    ``ChaosContext.run_async``)."""

    def __init__(self, portal: Any, asgi: httpx.ASGITransport, **kwargs: Any) -> None:
        super().__init__(transport=_PortalAsgiTransport(portal, asgi), **kwargs)
        self.portal = portal


def one_hop_client(client: Any) -> Any:
    """A one-hop client for the app behind a started Starlette ``TestClient`` (same base URL,
    headers, redirects followed, server errors as 500s); any other client is returned as is
    (the harness's own client for non-Starlette apps is one hop already)."""
    portal = getattr(client, "portal", None)
    state = getattr(client, "app_state", None)
    app = getattr(client, "app", None)
    if portal is None or state is None or app is None:
        return client
    asgi = httpx.ASGITransport(app=with_state(app, state), raise_app_exceptions=False)
    return _OneHopClient(
        portal,
        asgi,
        base_url=str(client.base_url),
        headers=dict(client.headers),
        follow_redirects=True,
    )
