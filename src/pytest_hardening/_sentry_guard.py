"""SentryGuard: a block with clean Sentry scopes whose Sentry clients never reach the network,
and Sentry's global client and scopes restored after it (an app under test called
``sentry_sdk.init``, or made a client of its own)."""

from __future__ import annotations

import contextlib
from typing import Any

import sentry_sdk
import sentry_sdk.client
import sentry_sdk.transport
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from ._sentry import SentryCapture

__all__ = ["SentryGuard", "keep_for_the_process", "put_back_the_process_client"]

#: Set on a client that outlives the guard it was created in (the app's, initialised when
#: its module was imported during a test, and reused by later tests).
_KEEP = "_pytest_hardening_kept"


def put_back_the_process_client(before: Any) -> None:
    """At a test session's end: a client kept for the process in it (an app's import-time
    ``sentry_sdk.init``) is closed, and ``before``, the global client at the session's start,
    is the global client again. A session run inside another's test (pytester) leaves the
    outer one's as it found it."""
    scope = sentry_sdk.get_global_scope()
    current = scope.client
    if current is not before and getattr(current, _KEEP, False):
        current.close(timeout=0.0)
        scope.set_client(before)


def keep_for_the_process(client: Any) -> None:
    """Have ``client`` (created under a guard) survive it, as the global client, as if it had
    been initialised before any guard: later guards forward its envelopes to their captures;
    between guards it sends nothing anywhere."""
    setattr(client, _KEEP, True)


class SentryGuard:
    """Give a block fresh Sentry scopes, keep it off the network, and undo what happened to
    Sentry's global state in it.

    :meth:`start` snapshots the global client and enters forked isolation and current scopes
    that are cleared (no breadcrumbs, tags, user... left by earlier code) and carry no client
    of their own, so the global client (e.g. one the app initialises) is the one in effect.
    Until :meth:`stop`, every Sentry client created with a DSN and Sentry's own HTTP transport
    (``sentry_sdk.init``, or a standalone ``sentry_sdk.Client`` such as the one an app reports
    a refused boot with) sends to :attr:`capture` instead: in memory, never over the network.
    So does a global client initialised earlier with that transport (an app that calls
    ``sentry_sdk.init`` when its module is imported); its transport is put back at
    :meth:`stop`. A transport the caller passes in is kept (unless it is the SDK's HTTP
    transport class). :meth:`stop` closes any client initialised meanwhile, puts the global
    client back and returns to the caller's scopes, untouched. Usable as a context manager.
    """

    def __init__(self, capture: SentryCapture | None = None) -> None:
        #: Where clients created in the block send (a fresh capture unless one is given).
        self.capture = capture if capture is not None else SentryCapture()
        self._client: Any = None
        self._before: tuple[Any, ...] = ()
        self._stack: contextlib.ExitStack | None = None
        self._hook: _InMemoryTransports | None = None
        self._set_aside: _SetAside | None = None

    def start(self) -> SentryGuard:
        self._client = sentry_sdk.get_global_scope().client
        self._before = (
            self._client,
            sentry_sdk.get_client(),
            sentry_sdk.get_isolation_scope().client,
            sentry_sdk.get_current_scope().client,
        )
        stack = contextlib.ExitStack()
        stack.enter_context(sentry_sdk.isolation_scope())
        self._stack = stack
        # Forks inherit whatever earlier code left in the caller's scopes (breadcrumbs from
        # other tests' requests, tags, a scope-bound client): start from nothing instead.
        for scope in (sentry_sdk.get_isolation_scope(), sentry_sdk.get_current_scope()):
            scope.clear()
            scope.set_client(None)
            scope.generate_propagation_context()
        self._hook = _InMemoryTransports(self)
        self._set_aside = _SetAside.of(self._client, self)
        return self

    def __enter__(self) -> SentryGuard:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def created_client(self) -> Any:
        """The active client initialised since :meth:`start` (e.g. by the app), else None;
        a client that existed before belongs to the caller and is never touched."""
        client = sentry_sdk.get_client()
        if client.is_active() and all(client is not known for known in self._before):
            return client
        return None

    def spare(self, client: Any) -> None:
        """Leave ``client`` open at :meth:`stop` (e.g. the client of an app kept running for
        the next test); the caller's client is put back all the same."""
        self._before = (*self._before, client)

    def capture_into(self, capture: SentryCapture) -> bool:
        """Make ``capture`` the block's :attr:`capture` and attach it to the client created
        since :meth:`start`, if any (returns whether there was one)."""
        self.capture = capture
        client = self.created_client()
        return client is not None and capture.attach(client)

    def stop(self) -> None:
        hook, self._hook = self._hook, None
        if hook is not None:
            hook.remove()
        set_aside, self._set_aside = self._set_aside, None
        if set_aside is not None:
            set_aside.restore()
        scope = sentry_sdk.get_global_scope()
        current = scope.client
        created = all(current is not known for known in self._before) and current.is_active()
        if getattr(current, _KEEP, False) and current.is_active():
            # The process's, as if imported before any guard (spared for a kept app or not).
            if isinstance(current.transport, (_Forward, SentryCapture)):  # this test's
                current.transport = _Forward(current.options, None)  # silent until the next
            scope.set_client(current)
        elif created:
            current.close(timeout=0.0)
            scope.set_client(self._client)
        else:
            scope.set_client(self._client)
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()


class _Forward(Transport):
    """The transport of a client created in a guarded block: each envelope goes to the
    guard's capture (the one in effect when it is sent); nothing leaves the process. Without
    a guard (a kept client between guards) envelopes are dropped."""

    def __init__(self, options: dict[str, Any], guard: SentryGuard | None) -> None:
        super().__init__(options)
        self._guard = guard

    def capture_envelope(self, envelope: Envelope) -> None:
        if self._guard is not None:
            self._guard.capture.capture_envelope(envelope)


class _SetAside:
    """The HTTP transport of a global client that existed before a guard started, replaced by
    a :class:`_Forward` to the guard until :meth:`restore`: Sentry initialised at import time
    would otherwise send a hardened test's events over the network, and none to its capture."""

    def __init__(self, client: Any, transport: Any, forward: _Forward) -> None:
        self._client, self._transport, self._forward = client, transport, forward

    @classmethod
    def of(cls, client: Any, guard: SentryGuard) -> _SetAside | None:
        transport = getattr(client, "transport", None)
        # The SDK's HTTP transport, or what an earlier guard left on a client it kept.
        ours = isinstance(transport, (_Forward, SentryCapture)) and getattr(client, _KEEP, False)
        if not client.is_active() or not (ours or isinstance(transport, _http_transports())):
            return None  # no client, or a transport of the caller's choosing: kept
        forward = _Forward(client.options, guard)
        client.transport = forward
        return cls(client, transport, forward)

    def restore(self) -> None:
        if self._client.transport is self._forward:
            self._client.transport = self._transport


def _http_transports() -> tuple[type, ...]:
    names = ("HttpTransportCore", "BaseHttpTransport", "HttpTransport")  # by SDK version
    return tuple(
        getattr(sentry_sdk.transport, n) for n in names if hasattr(sentry_sdk.transport, n)
    )


#: What ``sentry_sdk.Client`` calls for its transport (``sentry_sdk.client`` imports it).
_SLOT = "make_transport"


class _InMemoryTransports:
    """Stands in for the SDK's ``make_transport`` (how every client gets its transport)
    while a guard is active: a client that would send over HTTP gets a :class:`_Forward`.

    Nested guards chain: the innermost active one decides. A guard stopped out of order
    only passes through until the ones started after it are stopped too.
    """

    def __init__(self, guard: SentryGuard) -> None:
        self._guard: SentryGuard | None = guard
        self._previous: Any = getattr(sentry_sdk.client, _SLOT)
        setattr(sentry_sdk.client, _SLOT, self)

    def __call__(self, options: dict[str, Any]) -> Any:
        chosen = options.get("transport")
        # A transport the caller chose is kept, unless it is the SDK's own HTTP class.
        own = chosen is not None and not (
            isinstance(chosen, type) and issubclass(chosen, _http_transports())
        )
        if self._guard is None or not options.get("dsn"):
            return self._previous(options)
        if own and not isinstance(chosen, SentryCapture):
            return self._previous(options)
        # In memory, never rate-limited: the SDK's health monitor (read just after this) has
        # nothing to watch, and its thread, asleep 10 s between looks, held the client and
        # the app it reports on alive for that long after every test.
        options["enable_backpressure_handling"] = False
        return self._previous(options) if own else _Forward(options, self._guard)

    def remove(self) -> None:
        self._guard = None
        if getattr(sentry_sdk.client, _SLOT) is self:
            previous = self._previous
            while isinstance(previous, _InMemoryTransports) and previous._guard is None:
                previous = previous._previous
            setattr(sentry_sdk.client, _SLOT, previous)
