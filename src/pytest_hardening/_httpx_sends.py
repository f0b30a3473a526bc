"""Requests the app sent through an httpx client it had already closed, and how many it sent
to each host through open ones.

httpx refuses them in ``Client.send`` ("Cannot send a request, as the client has been
closed"), before any transport: neither the providers nor their faults see them, and an app
that turns the error into its own 500 leaves only a fault no call met. The usual cause is a
client made at import and closed by the app's lifespan shutdown, run again in a later test on
the same app object (``app_from_import`` hands each test the one object its import built).
The count per host tells a provider the app sent requests to, none of which reached the faults:
a mock in front of them answered (pytest-httpx's ``httpx_mock``, a test's own transport). An
error raised through respx leaves ``send`` without respx's loop of causes (see :func:`_unloop`).

``send`` is wrapped over whatever is there: Sentry's httpx integration replaces it for the
rest of the process, often while a test runs (an app's ``sentry_sdk.init`` at startup). A
wrapper someone wrapped in turn is not taken out at :meth:`HttpxSends.stop`, which
would drop theirs too: it stays in their chain, passing calls on without a look.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

__all__ = ["HttpxSends"]


class HttpxSends:
    """While started, :attr:`closed` collects the URL of every request sent through a closed
    ``httpx.Client`` or ``httpx.AsyncClient`` (httpx still raises, as it would), and
    :attr:`sent` counts those sent through open ones, by host."""

    def __init__(self) -> None:
        self.closed: list[httpx.URL] = []
        self.sent: Counter[str] = Counter()
        self._active = False
        # (class, the send found there, the wrapper put in its place)
        self._wrapped: list[tuple[type[Any], Any, Callable[..., Any]]] = []

    def start(self) -> HttpxSends:
        if self._active:
            raise RuntimeError("HttpxSends is already started")
        self._active = True
        sync_send = httpx.Client.__dict__["send"]

        def send(client: httpx.Client, request: httpx.Request, **kw: Any) -> httpx.Response:
            if self._active:  # a look and a count: every request pays
                self._saw(client, request)
            try:
                return sync_send(client, request, **kw)  # type: ignore[no-any-return]
            except Exception as error:
                _unloop(error)
                raise

        async_send = httpx.AsyncClient.__dict__["send"]

        async def asend(
            client: httpx.AsyncClient, request: httpx.Request, **kw: Any
        ) -> httpx.Response:
            if self._active:
                self._saw(client, request)
            try:
                return await async_send(client, request, **kw)  # type: ignore[no-any-return]
            except Exception as error:
                _unloop(error)
                raise

        wrappers: list[tuple[type[Any], Any, Callable[..., Any]]] = [
            (httpx.Client, sync_send, send),
            (httpx.AsyncClient, async_send, asend),
        ]
        for cls, found, wrapper in wrappers:
            cls.send = wrapper
            self._wrapped.append((cls, found, wrapper))
        return self

    def _saw(self, client: httpx.Client | httpx.AsyncClient, request: httpx.Request) -> None:
        if client.is_closed:
            self.closed.append(request.url)
        else:
            self.sent[request.url.host] += 1

    def stop(self) -> None:
        self._active = False
        wrapped, self._wrapped = self._wrapped, []
        for cls, found, wrapper in reversed(wrapped):
            if cls.__dict__.get("send") is wrapper:  # else wrapped in turn: left, inactive
                cls.send = found


def _unloop(error: BaseException) -> None:
    """An error a respx side effect raised (the faults' own: an injected timeout, an
    unregistered host) comes back caused by respx's ``SideEffectError``, which is caused by the
    error itself (``raise SideEffectError(...) from error``, then ``raise error.origin from
    error``): a loop that hangs code walking ``__cause__`` without remembering what it saw, and
    respx's internals at the top of every traceback. The loop is cut at the error."""
    cause = error.__cause__
    if cause is not None and cause.__cause__ is error:
        error.__cause__ = None
        error.__context__ = None
        error.__suppress_context__ = False
