"""SentryCapture: a Sentry transport that keeps envelopes in memory, plus SentryGuard, which
keeps every Sentry client created in its block off the network and restores Sentry's global
client and scopes after an app under test called ``sentry_sdk.init``.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import sentry_sdk
import sentry_sdk.client
import sentry_sdk.transport
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

__all__ = ["SentryCapture", "SentryGuard"]


class SentryCapture(Transport):
    """Records what the Sentry client would send: after ``before_send`` and scrubbing.

    Use it as ``sentry_sdk.init(transport=SentryCapture())`` or :meth:`attach` it to a client
    an app created itself (the client's own transport is shut down, so nothing leaves).
    """

    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self._envelopes: list[Envelope] = []
        self._lock = threading.Lock()
        self.client: Any = None

    # -- Transport -------------------------------------------------------------------------
    def capture_envelope(self, envelope: Envelope) -> None:
        with self._lock:
            self._envelopes.append(envelope)

    def attach(self, client: Any = None) -> bool:
        """Swap the transport of ``client`` (default: the active client) for this capture.

        Returns False when there is no active client (the app did not initialise Sentry).
        """
        client = client if client is not None else sentry_sdk.get_client()
        if not client.is_active():
            return False
        old = client.transport
        if old is self:
            return True
        if old is not None:
            self.parsed_dsn = old.parsed_dsn
            old.kill()
        client.transport = self
        self.client = client
        return True

    # -- views -----------------------------------------------------------------------------
    @property
    def envelopes(self) -> list[Envelope]:
        with self._lock:
            return list(self._envelopes)

    def _payloads(self, item_type: str) -> list[dict[str, Any]]:
        found = []
        for envelope in self.envelopes:
            for item in envelope.items:
                if item.type == item_type and item.payload.json is not None:
                    found.append(item.payload.json)
        return found

    @property
    def events(self) -> list[dict[str, Any]]:
        """Error and message events, as the Sentry server would receive them."""
        return self._payloads("event")

    @property
    def transactions(self) -> list[dict[str, Any]]:
        return self._payloads("transaction")

    @property
    def breadcrumbs(self) -> list[dict[str, Any]]:
        """Breadcrumbs attached to the captured events, in order."""
        crumbs: list[dict[str, Any]] = []
        for event in self.events:
            values = (event.get("breadcrumbs") or {}).get("values") or []
            crumbs.extend(c for c in values if isinstance(c, dict))
        return crumbs

    def clear(self) -> None:
        with self._lock:
            self._envelopes.clear()

    def summary(self) -> list[str]:
        return [_describe(e) for e in self.events]

    # -- assertions ------------------------------------------------------------------------
    def assert_captured(
        self,
        exc_type: type[BaseException] | str | None = None,
        *,
        message: str | None = None,
        **tags: Any,
    ) -> dict[str, Any]:
        """The first captured event matching every criterion given; fails otherwise."""
        __tracebackhide__ = True
        for event in self.events:
            if _matches(event, exc_type, message, tags):
                return event
        wanted = [
            *([f"exception {_type_name(exc_type)}"] if exc_type is not None else []),
            *([f"message containing {message!r}"] if message is not None else []),
            *(f"tag {k}={v!r}" for k, v in tags.items()),
        ]
        seen = "\n".join(f"  {line}" for line in self.summary()[-10:]) or "  (no events)"
        raise AssertionError(
            f"expected a Sentry event with {', '.join(wanted) or 'anything'}; "
            f"captured {len(self.events)} event(s), {len(self.transactions)} transaction(s):\n"
            f"{seen}\n(did the app call sentry_sdk.init with a DSN?)"
        )

    def assert_no_secrets(self, *values: str) -> None:
        """Fail if any value appears anywhere in any serialized envelope, or if nothing at
        all was captured (an empty capture proves no redaction)."""
        __tracebackhide__ = True
        envelopes = self.envelopes
        if not envelopes:
            raise AssertionError(
                "assert_no_secrets: Sentry captured nothing, so redaction is unproven; "
                "make the app report an event first (and check it initialised Sentry)"
            )
        leaks: list[str] = []
        for index, value in enumerate(values):
            if not value:
                continue
            needles = {value.encode(), json.dumps(value)[1:-1].encode()}
            for number, envelope in enumerate(envelopes):
                if any(n in envelope.serialize() for n in needles):
                    where = _locate(envelope, value)
                    leaks.append(
                        f"  secret #{index} ({_redact(value)}) in envelope {number}: {where}"
                    )
                    break
        if leaks:
            raise AssertionError(
                f"secret values reached Sentry ({len(envelopes)} envelope(s) checked):\n"
                + "\n".join(leaks)
                + "\nscrub them in the app's before_send / event scrubber"
            )


class SentryGuard:
    """Give a block fresh Sentry scopes, keep it off the network, and undo what happened to
    Sentry's global state in it.

    :meth:`start` snapshots the global client and enters forked isolation and current scopes
    that are cleared (no breadcrumbs, tags, user... left by earlier code) and carry no client
    of their own, so the global client (e.g. one the app initialises) is the one in effect.
    Until :meth:`stop`, every Sentry client created with a DSN and Sentry's own HTTP transport
    (``sentry_sdk.init``, or a standalone ``sentry_sdk.Client`` such as the one an app reports
    a refused boot with) sends to :attr:`capture` instead: in memory, never over the network.
    A transport the caller passes in is kept (unless it is the SDK's HTTP transport class).
    :meth:`stop` closes any client initialised meanwhile, puts the global client back and
    returns to the caller's scopes, untouched. Usable as a context manager.
    """

    def __init__(self, capture: SentryCapture | None = None) -> None:
        #: Where clients created in the block send (a fresh capture unless one is given).
        self.capture = capture if capture is not None else SentryCapture()
        self._client: Any = None
        self._before: tuple[Any, ...] = ()
        self._stack: contextlib.ExitStack | None = None
        self._hook: _InMemoryTransports | None = None

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
        scope = sentry_sdk.get_global_scope()
        current = scope.client
        if all(current is not known for known in self._before) and current.is_active():
            current.close(timeout=0.0)
        scope.set_client(self._client)
        stack, self._stack = self._stack, None
        if stack is not None:
            stack.close()


class _Forward(Transport):
    """The transport of a client created in a guarded block: each envelope goes to the
    guard's capture (the one in effect when it is sent); nothing leaves the process."""

    def __init__(self, options: dict[str, Any], guard: SentryGuard) -> None:
        super().__init__(options)
        self._guard = guard

    def capture_envelope(self, envelope: Envelope) -> None:
        self._guard.capture.capture_envelope(envelope)


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
        if self._guard is None or own or not options.get("dsn"):
            return self._previous(options)
        return _Forward(options, self._guard)

    def remove(self) -> None:
        self._guard = None
        if getattr(sentry_sdk.client, _SLOT) is self:
            previous = self._previous
            while isinstance(previous, _InMemoryTransports) and previous._guard is None:
                previous = previous._previous
            setattr(sentry_sdk.client, _SLOT, previous)


def _type_name(exc_type: type[BaseException] | str | None) -> str:
    return exc_type if isinstance(exc_type, str) else getattr(exc_type, "__name__", "?")


def _exceptions(event: dict[str, Any]) -> list[dict[str, Any]]:
    values = (event.get("exception") or {}).get("values") or []
    return [v for v in values if isinstance(v, dict)]


def _message(event: dict[str, Any]) -> str:
    logentry = event.get("logentry") or {}
    parts = [
        str(event.get("message") or ""),
        str(logentry.get("formatted") or logentry.get("message") or ""),
        *(str(v.get("value") or "") for v in _exceptions(event)),
    ]
    return "\n".join(parts)


def _matches(
    event: dict[str, Any],
    exc_type: type[BaseException] | str | None,
    message: str | None,
    tags: dict[str, Any],
) -> bool:
    if exc_type is not None:
        names = {v.get("type") for v in _exceptions(event)}
        if _type_name(exc_type) not in names:
            return False
    if message is not None and message not in _message(event):
        return False
    event_tags = event.get("tags") or {}
    if isinstance(event_tags, list):  # older wire format: [[key, value], ...]
        event_tags = dict(event_tags)
    return all(str(event_tags.get(k)) == str(v) for k, v in tags.items())


def _describe(event: dict[str, Any]) -> str:
    excs = _exceptions(event)
    head = f"{excs[-1].get('type')}: {excs[-1].get('value')}" if excs else _message(event)
    tags = event.get("tags") or {}
    return f"[{event.get('level', '?')}] {head.strip()[:120]} tags={tags}"


def _walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")
    elif node is not None:
        yield path, str(node)


def _locate(envelope: Envelope, value: str) -> str:
    for item in envelope.items:
        payload = item.payload.json
        if payload is None:
            continue
        for path, text in _walk(payload, item.type or "item"):
            if value in text:
                return path
    return "in the raw envelope bytes"


def _redact(value: str) -> str:
    return f"{value[:2]}… ({len(value)} chars)" if len(value) > 4 else f"({len(value)} chars)"
