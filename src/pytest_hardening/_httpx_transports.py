"""httpx network transports that respx does not see: served through the FaultInjector too.

respx intercepts httpx where httpx's own transports reach httpcore. A transport that reaches
the network another way is not seen: ``httpx_aiohttp.AiohttpTransport`` (the ``httpx-aiohttp``
package, httpx over aiohttp for its speed, as in ``httpx.AsyncClient(transport=
AiohttpTransport())``). Its ``handle_async_request`` is patched for the injector's lifetime,
once the package is imported (never imported here; the harness catches up after building the
app): its requests meet the same fakes and faults, and no aiohttp session is opened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from ._class_patches import ClassPatches, import_if_loaded

__all__ = ["PACKAGES", "HttpxTransportInterceptor"]

Serve = Callable[[httpx.Request], httpx.Response]

#: (module, class) of httpx transports that reach the network without httpcore.
_TRANSPORTS = (("httpx_aiohttp", "AiohttpTransport"),)
#: Their top-level packages.
PACKAGES = frozenset(module.partition(".")[0] for module, _ in _TRANSPORTS)


def _transports() -> list[type]:
    found = []
    for module_name, class_name in _TRANSPORTS:
        module = import_if_loaded(module_name)  # not imported by the app: nothing of it runs
        transport = getattr(module, class_name, None)
        if isinstance(transport, type) and issubclass(transport, httpx.AsyncBaseTransport):
            found.append(transport)
    return found


class HttpxTransportInterceptor:
    """Answer the requests of the httpx transports listed above with ``serve`` while started."""

    def __init__(self, serve: Serve) -> None:
        self._serve = serve
        self._patches: ClassPatches | None = None
        self._handler: Any = None

    def start(self) -> HttpxTransportInterceptor:
        if self._patches is not None:
            raise RuntimeError("HttpxTransportInterceptor is already started")
        serve = self._serve

        async def handle_async_request(transport: Any, request: httpx.Request) -> httpx.Response:
            await request.aread()
            return serve(request)

        self._patches = ClassPatches()
        self._handler = handle_async_request
        self.catch_up()
        return self

    def catch_up(self) -> None:
        """Patch the transports imported since :meth:`start` (e.g. by the app's build); a
        no-op when stopped."""
        if self._patches is None:
            return
        for cls in _transports():
            if not self._patches.patched(cls):
                self._patches.patch(cls, "handle_async_request", self._handler)

    def stop(self) -> None:
        patches, self._patches = self._patches, None
        self._handler = None
        if patches is not None:
            patches.undo()
