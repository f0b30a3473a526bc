"""An httpx2 transport that sends through an httpx transport.

The OpenAI SDK speaks httpx2; every other provider client speaks httpx. ``create_app``'s
``http_transport`` (an httpx transport: ``httpx.MockTransport`` in tests, a proxy in some
deployments) must carry every outbound provider request, so the app's httpx2 client is given
this bridge around it. Requests and responses are copied field by field (bodies streamed, not
buffered) and httpx exceptions become httpx2's exceptions of the same name, which is what the
SDK turns into its own typed errors (``APITimeoutError``, ``APIConnectionError``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from typing import Any

import httpx
import httpx2

__all__ = ["HttpxTransportBridge"]


def _httpx2_error(error: httpx.HTTPError, request: httpx2.Request) -> Exception:
    """httpx2's exception with the same name as ``error``'s class or its nearest base."""
    for cls in type(error).__mro__:
        target = getattr(httpx2, cls.__name__, None)
        if isinstance(target, type) and issubclass(target, httpx2.RequestError):
            return target(str(error), request=request)
    return httpx2.TransportError(str(error))


class _Body(httpx2.AsyncByteStream):
    """An httpx response body read as an httpx2 one, errors mapped as they arrive."""

    def __init__(self, source: Any, request: httpx2.Request) -> None:
        self._source = source
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            if isinstance(self._source, httpx.AsyncByteStream):
                async for chunk in self._source:
                    yield chunk
            else:  # a sync-only stream (MockTransport handlers may return one)
                chunks: Iterable[bytes] = self._source
                for chunk in chunks:
                    yield chunk
        except httpx.HTTPError as error:
            raise _httpx2_error(error, self._request) from error

    async def aclose(self) -> None:
        if isinstance(self._source, httpx.AsyncByteStream):
            await self._source.aclose()
        elif isinstance(self._source, httpx.SyncByteStream):
            self._source.close()


class HttpxTransportBridge(httpx2.AsyncBaseTransport):
    """Send httpx2 requests through ``transport``, an ``httpx.AsyncBaseTransport``.

    ``transport`` is not closed with the bridge: its httpx client owns it.
    """

    def __init__(self, transport: httpx.AsyncBaseTransport) -> None:
        self._transport = transport

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        sent = httpx.Request(
            request.method,
            str(request.url),
            headers=list(request.headers.raw),
            content=await request.aread(),
            extensions=dict(request.extensions),  # the timeout, among others
        )
        try:
            response = await self._transport.handle_async_request(sent)
        except httpx.HTTPError as error:
            raise _httpx2_error(error, request) from error
        return httpx2.Response(
            response.status_code,
            headers=list(response.headers.raw),
            stream=_Body(response.stream, request),
            extensions=dict(response.extensions),
            request=request,
        )

    async def aclose(self) -> None:
        return None
