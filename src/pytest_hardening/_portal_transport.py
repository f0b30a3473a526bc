"""A sync httpx transport that serves a request with one call into the app's event loop.

Starlette's ``TestClient`` hands each request to its portal thread in about eight calls
(creating events and a stream, starting the app, waiting for the response to start, then one
call per body message); every call wakes two threads, and on a reference-app request the
hand-offs cost as much CPU as a middleware stack. Here the app runs as one task of the portal,
and the caller waits once: until the app returns (the whole response, background tasks done,
as with ``TestClient``), until a body message says ``more_body``, or until a response without
a ``content-length`` starts. Such a streamed response (server-sent events, downloads) is then
handed over as it comes, its headers first, one call per message, with back-pressure, so
endless streams work, and a client that leaves before the first chunk cancels the app.

The scope is the one ``TestClient`` builds (lifespan ``state``, the debug and trailers
extensions; templates' debug info lands on ``response.template``/``response.context``).
This module is the caller's side; the app's, in its loop, is :mod:`._portal_exchange`.
"""

from __future__ import annotations

import concurrent.futures
import functools
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED
from types import ModuleType
from typing import Any
from urllib.parse import unquote

import httpx

from ._app_errors import cut_error, log_app_error
from ._portal_exchange import Exchange as _Exchange

__all__ = ["LEAVING_GRACE", "PortalTransport", "http_scope"]

#: Seconds of real time an app has to end by itself after its client left a streamed answer
#: (an upper bound: one that listens for the disconnect ends at once).
LEAVING_GRACE = 5.0

_Message = dict[str, Any]


class PortalTransport(httpx.BaseTransport):
    """Serve ``http``/``https`` requests with ``app`` in the loop of ``portal()``; anything
    else (``ws://``) goes to ``fallback``. An exception before the response starts is a 500,
    logged with its traceback (or raised in the caller with ``raise_app_exceptions``)."""

    def __init__(
        self,
        app: Any,
        portal: Callable[[], Any],
        *,
        state: Callable[[], Mapping[str, Any]] = dict,
        root_path: str = "",
        client: tuple[str, int] = ("testclient", 50000),
        raise_app_exceptions: bool = False,
        fallback: httpx.BaseTransport | None = None,
        http: ModuleType = httpx,
    ) -> None:
        self._app = app
        self._portal = portal
        self._state = state
        self._root_path = root_path
        self._client = client
        self._raise = raise_app_exceptions
        self._fallback = fallback
        # httpx or httpx2 (Starlette's TestClient takes httpx2 when it is installed): the
        # client checks that answers and their streams are its own module's.
        self._http = http
        self._streamed = type("StreamedBody", (_StreamedBody, http.SyncByteStream), {})
        self._cut_body = type("CutBody", (_CutBody, http.SyncByteStream), {})
        self._cut = functools.partial(_cut_exchange, http)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme not in ("http", "https"):
            if self._fallback is None:
                raise self._http.UnsupportedProtocol(f"{request.url.scheme}:// is not served here")
            return self._fallback.handle_request(request)
        portal = self._portal()
        exchange = _Exchange(self._scope(request), request.read(), body=request.method != "HEAD")
        done = portal.start_task_soon(exchange.serve, self._app)
        concurrent.futures.wait((done, exchange.streaming), return_when=FIRST_COMPLETED)
        error = done.exception() if done.done() and not done.cancelled() else None
        if error is not None:
            if self._raise:
                raise error
            # Failed after it began answering, before its body was whole: the client's is cut.
            cut = exchange.start is not None and not exchange.body_complete
            log_app_error(exchange.scope, error, exchange.status, cut=cut)
        if exchange.start is None:  # the app failed, or returned without answering
            return self._http.Response(500, request=request)  # type: ignore[no-any-return]
        if not done.done():
            stream = self._streamed(portal, exchange, done, self._cut)
        elif error is not None and not exchange.body_complete:
            # Failed after it started answering: a server closes the connection there.
            stream = self._cut_body(exchange, error, self._cut)
        else:
            stream = self._http.ByteStream(b"".join(exchange.head))
        response = self._http.Response(
            exchange.start["status"],
            headers=exchange.headers,
            stream=stream,
            request=request,
        )
        if exchange.trailers_expected:
            response.extensions["http.response.trailers"] = exchange.trailers
        if exchange.debug is not None:
            response.extensions["http.response.debug"] = exchange.debug
            for name in ("template", "context"):
                if name in exchange.debug:
                    setattr(response, name, exchange.debug[name])
        return response  # type: ignore[no-any-return]

    def _scope(self, request: httpx.Request) -> _Message:
        return {
            **http_scope(request, root_path=self._root_path, client=self._client),
            "extensions": {"http.response.debug": {}, "http.response.trailers": {}},
            "state": dict(self._state()),
        }

    def close(self) -> None:
        if self._fallback is not None:
            self._fallback.close()


def http_scope(
    request: httpx.Request, *, root_path: str = "", client: tuple[str, int] = ("testclient", 50000)
) -> _Message:
    """The ASGI ``http`` scope of ``request``, as a server (and ``TestClient``) builds it."""
    url = request.url
    port = url.port or {"http": 80, "https": 443}[url.scheme]
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": request.method,
        "path": unquote(url.path),
        "raw_path": url.raw_path.split(b"?", 1)[0],
        "root_path": root_path,
        "scheme": url.scheme,
        "query_string": url.query,
        "headers": [(k.lower(), v) for k, v in request.headers.raw],
        "client": client,
        "server": [url.raw_host.decode("ascii"), port],
    }


def _cut_exchange(http: ModuleType, exchange: _Exchange, error: BaseException) -> Exception:
    return cut_error(http, exchange.status, error)


class _CutBody:
    """A body whose app failed before its last message: what it sent, then the client's
    ``RemoteProtocolError``. Mixed with the client's ``SyncByteStream``."""

    def __init__(
        self,
        exchange: _Exchange,
        error: BaseException,
        cut: Callable[[_Exchange, BaseException], Exception],
    ) -> None:
        self._exchange = exchange
        self._error = error
        self._cut = cut

    def __iter__(self) -> Iterator[bytes]:
        yield from (chunk for chunk in self._exchange.head if chunk)
        raise self._cut(self._exchange, self._error)


class _StreamedBody:
    """The rest of a streamed body, one portal call per message; closing it early cancels
    the app (as a client that went away). Mixed with the client's ``SyncByteStream``. An app
    that fails before its last message cuts the body: the reader gets ``RemoteProtocolError``,
    as from a server that closed the connection."""

    def __init__(
        self,
        portal: Any,
        exchange: _Exchange,
        done: concurrent.futures.Future[None],
        cut: Callable[[_Exchange, BaseException], Exception],
    ) -> None:
        self._portal = portal
        self._exchange = exchange
        self._done = done
        self._cut = cut
        self._logged = False

    def __iter__(self) -> Iterator[bytes]:
        yield from (chunk for chunk in self._exchange.head if chunk)
        while (chunk := self._portal.call(self._exchange.next_chunk)) is not None:
            if chunk:
                yield chunk
        error = self._done.exception()  # the app has finished: it is done, or about to be
        if error is not None and not self._exchange.body_complete:
            self._log(error)
            raise self._cut(self._exchange, error)

    def close(self) -> None:
        if not self._done.done():
            self._portal.call(self._exchange.leave)
            # Left, the app stops and runs its background tasks (its cleanup) by itself; one
            # that does not end within the grace is cancelled.
            concurrent.futures.wait([self._done], timeout=LEAVING_GRACE)
            if not self._done.done():
                self._portal.call(self._exchange.cancel)
        try:
            self._done.result()
        except Exception as exc:  # the app failed mid-stream: the body ends where it stopped
            self._log(exc)

    def _log(self, error: BaseException) -> None:
        if not self._logged:
            self._logged = True
            # Failed after its last body message (a background task): the body is whole.
            cut = not self._exchange.body_complete
            log_app_error(self._exchange.scope, error, self._exchange.status, cut=cut)
