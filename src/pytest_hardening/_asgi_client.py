"""A synchronous test client for any ASGI app, on httpx alone (no Starlette needed).

Starlette's ``TestClient`` is used for Starlette apps when Starlette is installed; any other
ASGI app (or a project without Starlette) gets :class:`AsgiTestClient`: an ``httpx.Client``
whose requests run in a portal thread's event loop, where the app's lifespan runs too (the
app's loop-bound resources are created and used in that one loop).
"""

from __future__ import annotations

import functools
import importlib
from types import ModuleType, TracebackType
from typing import Any

import anyio.from_thread
import httpx

from ._app import starlette_test_client
from ._lifespan import LifespanManager, unbuilt
from ._portal_transport import PortalTransport
from ._virtual_time import app_lifespan, lifespan_message

__all__ = ["AsgiTestClient", "sync_test_client"]


class AsgiTestClient(httpx.Client):
    """``httpx.Client`` over an ASGI app; entering it starts the app's lifespan (in a portal
    thread), leaving it stops both. Server errors come back as 500s, as with ``TestClient``."""

    def __init__(
        self, app: Any, *, base_url: str = "http://testserver", instead_of: str | None = None
    ) -> None:
        #: Why Starlette's TestClient, which has websockets, does not serve this app when it
        #: would have (see :func:`sync_test_client`).
        self._instead_of = instead_of
        self.app_state: dict[str, Any] = {}
        super().__init__(
            transport=PortalTransport(app, lambda: self.portal, state=lambda: self.app_state),
            base_url=base_url,
        )
        self.app = app
        self._portal_cm: Any = None
        self._portal: anyio.from_thread.BlockingPortal | None = None
        self._lifespan: Any = None

    def websocket_connect(self, url: str, *args: Any, **kwargs: Any) -> Any:
        """Not served: this client speaks HTTP only."""
        if self._instead_of is not None:
            raise NotImplementedError(f"websocket_connect({url!r}): {self._instead_of}")
        raise NotImplementedError(
            f"websocket_connect({url!r}): hardened_client is the plugin's own HTTP client for "
            f"this {type(self.app).__name__} app (Starlette's TestClient, which has websockets, "
            "serves Starlette apps only). Use the framework's own websocket test client inside "
            "a test with hardened_async_client (faults and clock still apply), e.g. Quart's "
            "app.test_client().websocket(url)."
        )

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
        self.app_state = dict(manager.state)
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
        try:
            test_client = starlette_test_client() if isinstance(app, Starlette) else None
        except ModuleNotFoundError as missing:
            # Starlette before 0.21 imports requests for its TestClient, which an app need
            # not have installed: the plugin's own client serves it instead.
            if missing.name != "requests":
                raise
            test_client = None
        # Starlette before 0.21 built its TestClient on requests: no httpx client to drive.
        if test_client is not None and any(
            base.__module__.partition(".")[0] in ("httpx", "httpx2") for base in test_client.__mro__
        ):
            try:
                client = _lifespan_as_served(test_client(app, raise_server_exceptions=False))
                return _one_call(client)
            except TypeError as error:
                # Starlette before 0.37.2 hands httpx an `app=` that httpx 0.28 removed: its
                # TestClient cannot be built beside the httpx this plugin needs.
                if "'app'" not in str(error):
                    raise
                return AsgiTestClient(app, instead_of=_test_client_too_old(test_client))
    return AsgiTestClient(app)


def _test_client_too_old(test_client: type) -> str:
    """Why an old Starlette's ``TestClient`` (and its websockets) does not serve its app."""
    starlette = importlib.import_module(test_client.__module__.partition(".")[0])
    version = getattr(starlette, "__version__", "?")
    return (
        f"the installed Starlette {version}'s TestClient, which serves websockets, cannot run "
        f"with the installed httpx {httpx.__version__} (Starlette before 0.37.2 passes "
        "httpx.Client an `app=` argument that httpx 0.28 removed), so hardened_client is the "
        "plugin's own HTTP-only client. Upgrade Starlette to 0.37.2 or later (FastAPI 0.110.1 "
        "or later) and hardened_client.websocket_connect works again."
    )


def _tolerant(app: Any) -> Any:
    """``app``, its lifespan run as servers run it (uvicorn's and hypercorn's default): an app
    that raises or returns before answering ``lifespan.startup`` does not support the protocol
    (a middleware that asserts ``scope["type"] == "http"``), and is served without one.
    Starlette's ``TestClient`` raises that error instead, so a test could not reach an app
    that production serves. An app that answered (``startup.failed``) still fails, and so does
    a Starlette app whose middleware stack could not be built (production answers every
    request 500 with that error)."""

    async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        received: list[str] = []
        answered = False

        async def watched_receive() -> Any:
            message = await receive()
            received.append(message["type"])
            lifespan_message(message)
            return message

        async def watched_send(message: Any) -> None:
            nonlocal answered
            answered = True
            lifespan_message(message)
            await send(message)

        try:
            with app_lifespan():  # what it starts is the app's background, not the test's
                await app(scope, watched_receive, watched_send)
        except Exception:
            if answered or unbuilt(app):  # a Starlette app that could not build itself
                raise
        if answered:
            return
        if "lifespan.startup" not in received:  # no lifespan: nothing to start or shut down
            await receive()
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    return asgi


class _Served:
    """A ``TestClient`` seen by its own lifespan method, its app :func:`_tolerant`."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.app = _tolerant(client.app)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _lifespan_as_served(client: Any) -> Any:
    """``client`` (a Starlette ``TestClient``) running its app's lifespan as servers do (see
    :func:`_tolerant`): its own lifespan method, on a view of the client whose ``app`` is
    tolerant; ``client.app`` stays the app (``client.app.state``, ``dependency_overrides``)."""
    own = getattr(type(client), "lifespan", None)
    if callable(own):
        client.lifespan = functools.partial(own, _Served(client))
    return client


def _one_call(client: Any) -> Any:
    """``client`` (a Starlette ``TestClient``) serving HTTP with :class:`PortalTransport`:
    the same scope and answers in one portal call instead of about eight; websockets stay
    with its own transport. A ``TestClient`` too old to keep the lifespan state is left as
    it is."""
    own = getattr(client, "_transport", None)
    if own is None or not isinstance(getattr(client, "app_state", None), dict):
        return client
    client._transport = PortalTransport(
        client.app,
        lambda: client.portal,
        state=lambda: client.app_state,
        root_path=getattr(own, "root_path", ""),
        client=getattr(own, "client", ("testclient", 50000)),
        raise_app_exceptions=bool(getattr(own, "raise_server_exceptions", False)),
        fallback=own,
        http=_http_module(client),
    )
    return client


def _http_module(client: Any) -> ModuleType:
    """httpx or httpx2, whichever ``client`` is built on."""
    for cls in type(client).__mro__:
        package = cls.__module__.partition(".")[0]
        if cls.__name__ == "Client" and package in ("httpx", "httpx2"):
            return importlib.import_module(package)
    return httpx
