"""httpx2 interception: serve every httpx2 request through the FaultInjector's ``respond`` logic.

httpx2 (Pydantic's continuation of httpx, used by the openai and anthropic SDKs) is a separate
package that respx does not see. Its seam is the public transport API: every network request
of a ``Client``/``AsyncClient`` ends in ``HTTPTransport.handle_request`` or
``AsyncHTTPTransport.handle_async_request`` (the default transport, transports mounted with
``mounts=``, HTTP/2 and proxy transports alike), while ASGI/WSGI/mock transports never reach
the network and stay untouched. So does the aiohttp transport the OpenAI and Anthropic SDKs
offer (``DefaultAioHttpClient``, their vendored ``httpx_aiohttp``), once the SDK is imported.
We patch those public methods for the injector's lifetime,
converting requests to ``httpx.Request`` (so provider handlers written for httpx serve httpx2
too), responses back to ``httpx2.Response`` (bodies streamed, not buffered) and httpx
exceptions to httpx2's own types. Tested with httpx2 2.16.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx

from ._class_patches import ClassPatches, import_if_loaded

if TYPE_CHECKING:
    import httpx2

__all__ = ["PACKAGES", "Httpx2Interceptor", "httpx2_available", "to_httpx_response"]

Serve = Callable[[httpx.Request], httpx.Response]


def _httpx2() -> Any:
    return importlib.import_module("httpx2")


def httpx2_available() -> bool:
    try:
        _httpx2()
    except ImportError:
        return False
    return True


def to_httpx_request(request: Any) -> httpx.Request:
    """An ``httpx.Request`` equal to an already read ``httpx2.Request``."""
    return httpx.Request(
        request.method,
        str(request.url),
        headers=list(request.headers.raw),
        content=request.content,
        extensions=dict(request.extensions),
    )


def to_httpx_response(response: httpx2.Response) -> httpx.Response:
    """An ``httpx.Response`` carrying an httpx2 response's status, headers and body (read and
    decoded, so the encoding and length headers are dropped and recomputed)."""
    dropped = {b"content-encoding", b"content-length", b"transfer-encoding"}
    return httpx.Response(
        response.status_code,
        headers=[(k, v) for k, v in response.headers.raw if k.lower() not in dropped],
        content=response.read(),
        extensions=dict(response.extensions),
    )


def _httpx2_error(error: httpx.HTTPError, request: Any) -> Exception:
    """httpx2's exception of the same name (``ReadTimeout`` -> ``httpx2.ReadTimeout``), found
    along the MRO so subclasses such as ``UnregisteredHostError`` map to ``ConnectError``."""
    module = _httpx2()
    for cls in type(error).__mro__:
        if not cls.__module__.startswith("httpx"):
            continue
        target = getattr(module, cls.__name__, None)
        if isinstance(target, type) and issubclass(target, module.RequestError):
            converted: Exception = target(str(error), request=request)
            break
        if isinstance(target, type) and issubclass(target, Exception):
            converted = target(str(error))
            break
    else:  # pragma: no cover - every httpx.HTTPError has an httpx2 counterpart
        return error
    converted.__cause__ = error
    return converted


class _Stream:
    """An httpx2 response body fed from an httpx response stream, errors mapped to httpx2."""

    def __init__(self, source: Any, request: Any) -> None:
        self._source = source
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._source
        except httpx.HTTPError as error:
            raise _httpx2_error(error, self._request) from error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            if hasattr(self._source, "__aiter__"):
                async for chunk in self._source:
                    yield chunk
            else:
                for chunk in self._source:
                    yield chunk
        except httpx.HTTPError as error:
            raise _httpx2_error(error, self._request) from error

    def close(self) -> None:
        close = getattr(self._source, "close", None)
        if close is not None:
            close()

    async def aclose(self) -> None:
        aclose = getattr(self._source, "aclose", None)
        if aclose is not None:
            await aclose()
        else:
            self.close()


def _to_httpx2_response(response: httpx.Response, request: Any, stream_cls: type[_Stream]) -> Any:
    return _httpx2().Response(
        response.status_code,
        headers=list(response.headers.raw),
        stream=stream_cls(response.stream, request),
        extensions=dict(response.extensions),
        request=request,
    )


#: The AI SDKs' aiohttp transport for httpx2 (``DefaultAioHttpClient``): a network transport
#: of its own, patched like httpx2's when its SDK is imported (the SDK imports the package).
_VENDORED_AIOHTTP = ("openai._vendor.httpx_aiohttp", "anthropic._vendor.httpx_aiohttp")
#: Their top-level packages (the SDKs).
PACKAGES = frozenset(package.partition(".")[0] for package in _VENDORED_AIOHTTP)


def _aiohttp_transports() -> list[type]:
    found = []
    for package in _VENDORED_AIOHTTP:
        # Only once the SDK is imported; None too without aiohttp (the SDK cannot use it then).
        module = import_if_loaded(f"{package}.transport", loaded=package)
        transport = getattr(module, "AiohttpTransport", None)
        if isinstance(transport, type) and callable(
            getattr(transport, "handle_async_request", None)
        ):
            found.append(transport)
    return found


class Httpx2Interceptor:
    """Answer every httpx2 network request with ``serve`` while started (no-op without
    httpx2 installed): httpx2's own network transports, and the aiohttp transport the OpenAI
    and Anthropic SDKs offer as ``DefaultAioHttpClient``."""

    def __init__(self, serve: Serve) -> None:
        self._serve = serve
        self._patches: ClassPatches | None = None
        self._async_handler: Any = None

    @property
    def active(self) -> bool:
        return self._patches is not None

    def start(self) -> Httpx2Interceptor:
        if self._patches is not None:
            raise RuntimeError("Httpx2Interceptor is already started")
        if not httpx2_available():
            return self
        module = _httpx2()
        serve = self._serve
        # httpx2 checks that a body is one of its own byte-stream types.
        bases = (_Stream, module.SyncByteStream, module.AsyncByteStream)
        stream_cls: type[_Stream] = type("InjectedHttpx2Stream", bases, {})

        def handle_request(transport: Any, request: Any) -> Any:
            request.read()
            try:
                response = serve(to_httpx_request(request))
            except httpx.HTTPError as error:
                raise _httpx2_error(error, request) from error
            return _to_httpx2_response(response, request, stream_cls)

        async def handle_async_request(transport: Any, request: Any) -> Any:
            await request.aread()
            try:
                response = serve(to_httpx_request(request))
            except httpx.HTTPError as error:
                raise _httpx2_error(error, request) from error
            return _to_httpx2_response(response, request, stream_cls)

        patches = self._patches = ClassPatches()
        patches.patch(module.HTTPTransport, "handle_request", handle_request)
        patches.patch(module.AsyncHTTPTransport, "handle_async_request", handle_async_request)
        self._async_handler = handle_async_request
        self.catch_up()
        return self

    def catch_up(self) -> None:
        """Patch the SDKs' aiohttp transports imported since :meth:`start` (e.g. by the app's
        build); a no-op when stopped."""
        if self._patches is None:
            return
        for cls in _aiohttp_transports():
            if not self._patches.patched(cls):
                self._patches.patch(cls, "handle_async_request", self._async_handler)

    def stop(self) -> None:
        patches, self._patches = self._patches, None
        self._async_handler = None
        if patches is not None:
            patches.undo()
