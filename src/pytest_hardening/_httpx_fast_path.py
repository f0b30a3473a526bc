"""Provider requests answered where httpx's own transports would hand them to httpcore.

The injector's catch-all respx router (see :mod:`._interception`) sees httpx's requests inside
httpcore: each is made an httpcore request, then an httpx one again for the router, and its
answer an httpcore response, then an httpx one again; about 0.1 ms a request, which every
provider call of every test paid. A request that a provider owns, and that no route of the
test's own respx routers names, is answered here instead, as the router would answer it (the
same ``respond``); any other request goes on to httpcore, where the router and the test's
routers see it as before.

Installed only over httpx's own methods: a library that replaced one before (pytest-httpx's
``httpx_mock``, respx's ``using="httpx"``) stays in front of the providers, and what it lets
through reaches the router as it did.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from ._class_patches import ClassPatches

__all__ = ["ProviderFastPath"]

Respond = Callable[[httpx.Request], httpx.Response]


_HTTPX_TRANSPORTS = "httpx._transports.default"


def _httpx_own(cls: type, name: str) -> Any:
    """``cls.name`` if it is still httpx's own method (by its name, whenever this module was
    imported), else None."""
    method = cls.__dict__.get(name)
    where = (getattr(method, "__module__", None), getattr(method, "__qualname__", None))
    return method if where == (_HTTPX_TRANSPORTS, f"{cls.__name__}.{name}") else None


class ProviderFastPath:
    """While started, ``serves(request)`` requests are answered by ``respond`` in httpx's
    ``HTTPTransport``/``AsyncHTTPTransport``; the others go to httpcore."""

    def __init__(self, respond: Respond, serves: Callable[[httpx.Request], bool]) -> None:
        self._respond = respond
        self._serves = serves
        self._patches: ClassPatches | None = None

    def start(self) -> ProviderFastPath:
        if self._patches is not None:
            raise RuntimeError("ProviderFastPath is already started")
        respond, serves = self._respond, self._serves
        self._patches = patches = ClassPatches()

        sync_send: Callable[[Any, httpx.Request], httpx.Response] | None = _httpx_own(
            httpx.HTTPTransport, "handle_request"
        )
        if sync_send is not None:
            send = sync_send

            def handle_request(transport: Any, request: httpx.Request) -> httpx.Response:
                if not serves(request):
                    return send(transport, request)
                request.read()
                return _unread(respond(request))

            patches.patch(httpx.HTTPTransport, "handle_request", handle_request)

        async_send: Callable[[Any, httpx.Request], Awaitable[httpx.Response]] | None = _httpx_own(
            httpx.AsyncHTTPTransport, "handle_async_request"
        )
        if async_send is not None:
            asend = async_send

            async def handle_async_request(
                transport: Any, request: httpx.Request
            ) -> httpx.Response:
                if not serves(request):
                    return await asend(transport, request)
                await request.aread()
                return _async_body(respond(request))

            patches.patch(httpx.AsyncHTTPTransport, "handle_async_request", handle_async_request)
        return self

    def stop(self) -> None:
        patches, self._patches = self._patches, None
        if patches is not None:
            patches.undo()


def _unread(response: httpx.Response) -> httpx.Response:
    """``response`` as a transport hands it to the client, its body not read yet: the
    client's reading and closing it sets ``elapsed`` (an answer built with ``content=`` was
    read and closed when made, and the app's ``r.elapsed`` raised)."""
    if not response.is_closed:
        return response
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        stream=httpx.ByteStream(response.content),
        extensions=response.extensions,
    )


def _async_body(response: httpx.Response) -> httpx.Response:
    """``response`` with a body an async client can read, not read yet (see :func:`_unread`):
    a handler's answer built from a plain iterator (``content=iter(...)``) has a sync stream
    only, which httpcore's path converted on the way."""
    if isinstance(response.stream, httpx.AsyncByteStream):
        return _unread(response)
    response.read()
    return _unread(response)
