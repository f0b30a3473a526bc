"""One TLS context for the default-configured httpx and httpx2 clients an app builds under test.

httpx and httpx2 give every client a new ``ssl.SSLContext`` with the whole CA bundle loaded:
about 28 ms of CPU per ``httpx.AsyncClient()`` on a 2-core machine. An app that opens a client
per request (``async with httpx.AsyncClient() as http:``, as countless examples do) pays that on
every request of every test, though under the fault injector no request reaches the network
and no handshake ever uses the context.

While :meth:`SharedTLSContexts.sharing` is active, the transports' ``create_ssl_context`` hands
clients with the default settings (``verify=True``, no ``cert``) one context per library and CA
source (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when ``trust_env``), built the first time by the
library itself. Any other setting (``verify=False``, a CA file, a client certificate, the app's
own ``SSLContext``) goes to the library untouched, so its errors surface as in production.
Nothing here imports httpx2: a library the app imports later (an AI SDK imported in a handler)
is reached when that import finishes.
"""

from __future__ import annotations

import contextlib
import os
import ssl
from collections.abc import Callable, Iterator
from typing import Any

from ._class_patches import ClassPatches, import_if_loaded
from ._import_watch import ImportWatch

__all__ = ["SharedTLSContexts"]

#: The modules whose network transports call their own ``create_ssl_context`` per client.
_TRANSPORT_MODULES = ("httpx._transports.default", "httpx2._transports.default")
_PACKAGES = frozenset(name.partition(".")[0] for name in _TRANSPORT_MODULES)

_Key = tuple[str, str | None, str | None]


class SharedTLSContexts:
    """The contexts built so far (keep one instance for a session to share them across tests)
    and :meth:`sharing`, which hands them out while active."""

    def __init__(self) -> None:
        self._contexts: dict[_Key, ssl.SSLContext] = {}

    @property
    def built(self) -> int:
        """How many contexts were built for default-configured clients."""
        return len(self._contexts)

    @contextlib.contextmanager
    def sharing(self) -> Iterator[SharedTLSContexts]:
        patches = ClassPatches()

        def catch_up() -> None:
            for name in _TRANSPORT_MODULES:
                module = import_if_loaded(name)
                create = getattr(module, "create_ssl_context", None)
                if module is not None and callable(create) and not patches.patched(module):
                    patches.patch(module, "create_ssl_context", self._shared(name, create))

        watch = ImportWatch(_PACKAGES, catch_up)
        try:
            catch_up()
            watch.start()
            yield self
        finally:
            watch.stop()
            patches.undo()

    def _shared(self, library: str, create: Callable[..., Any]) -> Callable[..., Any]:
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
