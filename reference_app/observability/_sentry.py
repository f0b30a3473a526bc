"""Sentry initialisation from Settings, undoable: init_sentry() → SentryHandle."""

from __future__ import annotations

from typing import Any

import sentry_sdk
from sentry_sdk.client import BaseClient
from sentry_sdk.integrations.logging import ignore_logger

from reference_app.config import Settings

from ._sentry_hooks import sentry_options

#: The logger of the app's unhandled errors (its 500 handler logs each with its traceback).
ERRORS_LOGGER = "reference_app.errors"


class SentryHandle:
    """What init_sentry did. ``close()`` flushes, closes this client and restores the global
    client that was there before, so tests and several app instances in one process don't leak.
    When Sentry is disabled every method is a no-op."""

    def __init__(self, client: BaseClient | None, previous: BaseClient | None) -> None:
        self.client = client
        self._previous = previous
        self._closed = False

    @property
    def enabled(self) -> bool:
        return self.client is not None and not self._closed

    def flush(self, timeout: float = 5.0) -> None:
        """Send queued events, waiting at most ``timeout`` seconds."""
        if self.enabled:
            assert self.client is not None
            self.client.flush(timeout=timeout)

    def close(self, timeout: float = 5.0) -> None:
        """Flush, shut this client down and put the previous global client back (idempotent)."""
        if not self.enabled:
            self._closed = True
            return
        assert self.client is not None
        self._closed = True
        try:
            self.client.close(timeout=timeout)  # flushes first
        finally:
            scope = sentry_sdk.get_global_scope()
            if scope.client is self.client:
                scope.set_client(self._previous)


def init_sentry(settings: Settings, *, transport: Any = None) -> SentryHandle:
    """Initialise Sentry when ``settings.sentry_enabled`` (a DSN and production or
    ENABLE_SENTRY=true); otherwise touch nothing. ``transport`` (a ``sentry_sdk.transport.
    Transport`` instance or class) replaces the HTTP transport, e.g. to capture events in tests."""
    if not settings.sentry_enabled:
        return SentryHandle(None, None)
    previous = sentry_sdk.get_global_scope().client
    options = sentry_options(settings)
    if transport is not None:
        options["transport"] = transport
    sentry_sdk.init(**options)
    client = sentry_sdk.get_global_scope().client
    # sentry-sdk honours disabled_integrations only for an integration no earlier client of
    # the process installed; once installed, every client with default integrations gets it.
    for integration in options.get("disabled_integrations") or ():
        client.integrations.pop(integration.identifier, None)
    # The ASGI integration reports an unhandled error itself (as unhandled, with its request);
    # through the logging integration, the handler's log record of it built the same event a
    # second time (stack, locals, source lines), for the Dedupe integration to drop.
    ignore_logger(ERRORS_LOGGER)
    return SentryHandle(client, previous)
