"""One TLS context for the default-configured httpx and httpx2 clients an app builds under test.

httpx and httpx2 give every client a new ``ssl.SSLContext`` with the whole CA bundle loaded:
about 28 ms of CPU per ``httpx.AsyncClient()`` on a 2-core machine. An app that opens a client
per request (``async with httpx.AsyncClient() as http:``, as countless examples do) pays that on
every request of every test, though under the fault injector no request reaches the network
and no handshake ever uses the context.

While the :meth:`SharedTLSContexts.patch` it returned is in place (a started fault injector
holds one), the transports' ``create_ssl_context`` hands
clients with the default settings (``verify=True``, no ``cert``) one context per library and CA
source (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when ``trust_env``), built the first time by the
library itself. Any other setting (``verify=False``, a CA file, a client certificate, the app's
own ``SSLContext``) goes to the library untouched, so its errors surface as in production.
Nothing here imports httpx2: a library imported later (an AI SDK imported in a handler) is
reached by :meth:`TLSPatches.catch_up`, which the injector's import watch calls when that
import finishes.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable
from typing import Any

from ._class_patches import ClassPatches, import_if_loaded

__all__ = ["PACKAGES", "SharedTLSContexts", "TLSPatches"]

#: The modules whose network transports call their own ``create_ssl_context`` per client.
_TRANSPORT_MODULES = ("httpx._transports.default", "httpx2._transports.default")
#: Reached when imported later: :meth:`TLSPatches.catch_up` after each such import.
PACKAGES = frozenset(name.partition(".")[0] for name in _TRANSPORT_MODULES)

_Key = tuple[str, str | None, str | None]


class SharedTLSContexts:
    """The contexts built so far (keep one instance for a session to share them across tests),
    handed out while a :meth:`patch` of it is in place."""

    def __init__(self) -> None:
        self._contexts: dict[_Key, ssl.SSLContext] = {}

    @property
    def built(self) -> int:
        """How many contexts were built for default-configured clients."""
        return len(self._contexts)

    def patch(self) -> TLSPatches:
        """Hand the contexts out from now on, in the libraries imported so far; for those
        imported later, call :meth:`TLSPatches.catch_up` after their import (from an
        :class:`~._import_watch.ImportWatch` of :data:`PACKAGES`), until
        :meth:`TLSPatches.undo`."""
        patches = TLSPatches(self)
        patches.catch_up()
        return patches

    def shared(self, library: str, create: Callable[..., Any]) -> Callable[..., Any]:
        """``create`` (a transport module's ``create_ssl_context``) serving these contexts."""
        contexts = self._contexts

        def create_ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
            if verify is not True or cert:
                return create(verify=verify, cert=cert, trust_env=trust_env)
            sources = (
                (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
                if trust_env
                else (None, None)
            )
            key = (library, *sources)  # no CA source named: trust_env changes nothing
            context = contexts.get(key)
            if context is None:
                context = contexts[key] = create(verify=verify, cert=cert, trust_env=trust_env)
            return context

        return create_ssl_context


class TLSPatches:
    """The transport modules' ``create_ssl_context`` serving one :class:`SharedTLSContexts`,
    until :meth:`undo`."""

    def __init__(self, contexts: SharedTLSContexts) -> None:
        self._contexts = contexts
        self._patches = ClassPatches()

    def catch_up(self) -> None:
        """Patch the transport modules imported since the last look (none twice)."""
        for name in _TRANSPORT_MODULES:
            module = import_if_loaded(name)
            create = getattr(module, "create_ssl_context", None)
            if module is not None and callable(create) and not self._patches.patched(module):
                self._patches.patch(
                    module, "create_ssl_context", self._contexts.shared(name, create)
                )

    def undo(self) -> None:
        self._patches.undo()
