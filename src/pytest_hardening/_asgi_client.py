"""A synchronous test client for any ASGI app, on httpx alone (no Starlette needed).

Starlette's ``TestClient`` is used for Starlette apps when Starlette is installed; any other
ASGI app (or a project without Starlette) gets :class:`AsgiTestClient`: an ``httpx.Client``
whose requests run in a portal thread's event loop, where the app's lifespan runs too (the
app's loop-bound resources are created and used in that one loop).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import anyio.from_thread
import httpx

from ._app import LifespanManager, starlette_test_client, with_state

__all__ = ["AsgiTestClient", "sync_test_client"]


class _PortalTransport(httpx.BaseTransport):
    """Hands each request to ``httpx.ASGITransport`` in the portal's loop, and the answer back."""

    def __init__(self, client: AsgiTestClient) -> None:
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._client.portal.call(self._send, request)

    async def _send(self, request: httpx.Request) -> httpx.Response:
        inner = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )
        response = await self._client.asgi_transport.handle_async_request(inner)
        content = await response.aread()
        return httpx.Response(
            response.status_code, headers=response.headers, content=content, request=request
        )


class AsgiTestClient(httpx.Client):
    """``httpx.Client`` over an ASGI app; entering it starts the app's lifespan (in a portal
    thread), leaving it stops both. Server errors come back as 500s, as with ``TestClient``."""

    def __init__(self, app: Any, *, base_url: str = "http://testserver") -> None:
        super().__init__(transport=_PortalTransport(self), base_url=base_url)
        self.app = app
        self._portal_cm: Any = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._lifespan: Any = None
        self.asgi_transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)

    @property
    def portal(self) -> anyio.from_thread.BlockingPortal:
        if self._portal is None:
            raise RuntimeError("enter the client (with AsgiTestClient(app) as client) first")
        return self._portal

    def __enter__(self) -> AsgiTestClient:
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self._portal = self._portal_cm.__enter__()
        manager = LifespanManager(self.app)
        self._lifespan = self._portal.wrap_async_context_manager(manager)
        try:
            self._lifespan.__enter__()
        except BaseException:
            self._portal_cm.__exit__(None, None, None)
            self._portal = None
            raise
        self.asgi_transport = httpx.ASGITransport(
            app=with_state(self.app, manager.state), raise_app_exceptions=False
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc: BaseException | None = None,
        tb: TracebackType | None = None,
    ) -> None:
        try:
            if self._lifespan is not None:
                self._lifespan.__exit__(None, None, None)
        finally:
            self._lifespan = None
            if self._portal_cm is not None:
                self._portal_cm.__exit__(None, None, None)
            self._portal_cm = self._portal = None
            self.close()


def sync_test_client(app: Any) -> Any:
    """An unentered sync test client for ``app``: Starlette's ``TestClient`` for a Starlette
    (or FastAPI) app, else an :class:`AsgiTestClient` (Starlette need not be installed).
    Either runs the lifespan in a portal thread once entered; server errors come back as 500s."""
    try:
        from starlette.applications import Starlette
    except ImportError:
        pass
    else:
        if isinstance(app, Starlette):
            return starlette_test_client()(app, raise_server_exceptions=False)
    return AsgiTestClient(app)
