"""SentryCapture: a Sentry transport that keeps envelopes in memory, with views and assertions
on what an app sent (SentryGuard, in ``_sentry_guard``, points clients at one)."""

from __future__ import annotations

import base64
import json
import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import sentry_sdk
from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

from ._sentry_match import describe_type, matches_type, what_to_check, written_type

__all__ = ["SentryCapture"]


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
            *([f"exception {describe_type(exc_type)}"] if exc_type is not None else []),
            *([f"message containing {message!r}"] if message is not None else []),
            *(f"tag {k}={v!r}" for k, v in tags.items()),
        ]
        events, transactions = self.events, self.transactions
        seen = "\n".join(f"  {_describe(e)}" for e in events[-10:]) or "  (no events)"
        raise AssertionError(
            f"expected a Sentry event with {', '.join(wanted) or 'anything'}; "
            f"captured {len(events)} event(s), {len(transactions)} transaction(s):\n"
            f"{seen}\n{what_to_check(events, transactions)}"
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
        sent = [_sent_by_the_app(envelope) for envelope in envelopes]
        for index, value in enumerate(values):
            if not value:
                continue
            forms = _written(value)
            needles = {form.encode() for form in forms}
            places = [
                f"envelope {number}: {where}"
                for number, envelope in enumerate(envelopes)
                if any(n in sent[number] for n in needles)
                for where in _locate(envelope, forms)
            ]
            if places:  # every place, so that one fix and one run find them all
                shown = "; ".join(places[:_PLACES])
                more = f"; and {len(places) - _PLACES} more" if len(places) > _PLACES else ""
                # Counted from 1, in the order given: the value itself is never shown.
                which = f"secret {index + 1} of {len(values)} given"
                leaks.append(f"  {which} ({_redact(value)}) in {shown}{more}")
        if leaks:
            raise AssertionError(
                f"secret values reached Sentry ({len(envelopes)} envelope(s) checked):\n"
                + "\n".join(leaks)
                + "\nscrub them in the app's before_send / event scrubber"
            )


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
    if exc_type is not None and not matches_type(_exceptions(event), exc_type):
        return False
    if message is not None and message not in _message(event):
        return False
    event_tags = event.get("tags") or {}
    if isinstance(event_tags, list):  # older wire format: [[key, value], ...]
        event_tags = dict(event_tags)
    return all(str(event_tags.get(k)) == str(v) for k, v in tags.items())


def _describe(event: dict[str, Any]) -> str:
    excs = _exceptions(event)
    if excs:
        last = excs[-1]
        head = f"{written_type(last.get('module'), last.get('type'))}: {last.get('value')}"
    else:
        head = _message(event)
    tags = event.get("tags") or {}
    return f"[{event.get('level', '?')}] {_first_line(head)} tags={tags}"


def _first_line(text: str, limit: int = 120) -> str:
    # One line per event in a listing: a traceback or a multi-line message would scatter it.
    lines = text.strip().splitlines() or [""]
    line = lines[0].rstrip()
    if len(line) > limit:
        return line[: limit - 1] + "\u2026"
    return line + " \u2026" if len(lines) > 1 else line


def _walk(node: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            # A key Sentry wrote as an object's repr (a frame's ``dependency_cache`` keyed by
            # objects): its type, not an address that changes from run to run.
            yield from _walk(value, f"{path}.{_ADDRESS.sub('', str(key))}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}[{index}]")
    elif node is not None:
        yield path, str(node)


def _sent_by_the_app(envelope: Envelope) -> bytes:
    """The envelope's bytes without the DSN the SDK itself writes into every envelope's header
    (``dsn``, and the trace context's ``public_key``): Sentry's DSN is public by design, it
    travels with every request to Sentry, and no ``before_send`` can reach it."""
    headers = dict(envelope.headers)
    headers.pop("dsn", None)
    trace = headers.get("trace")
    if isinstance(trace, dict):
        headers["trace"] = {k: v for k, v in trace.items() if k != "public_key"}
    return Envelope(headers=headers, items=envelope.items).serialize()


#: `` object at 0x7f07...`` in a repr.
_ADDRESS = re.compile(r" (?:object )?at 0x[0-9a-fA-F]+")

#: Places shown for one leaked secret.
_PLACES = 12


def _written(value: str) -> set[str]:
    """The forms a secret reaches an envelope in: as it is, JSON-escaped, percent-encoded as a
    URL carries it (a query string, a redirect, an HTTP breadcrumb: ``code=4%2F0A...``), and
    base64-encoded inside a longer value (HTTP Basic auth's ``user:secret``)."""
    forms = {value, json.dumps(value)[1:-1], quote(value), quote(value, safe=""), quote_plus(value)}
    return forms | _in_base64(value)


#: Shorter secrets leave too few whole base64 groups to tell from chance.
_BASE64_MIN = 12
_URL_SAFE = str.maketrans("+/", "-_")


def _in_base64(value: str) -> set[str]:
    """What base64 writes of ``value`` wherever it sits in the encoded bytes: for each of the
    three offsets, the groups made of its bytes alone (standard and URL-safe alphabets)."""
    data = value.encode()
    if len(data) < _BASE64_MIN:
        return set()
    found = set()
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode()
        whole = encoded[4 if offset else 0 : (offset + len(data)) // 3 * 4]
        found |= {whole, whole.translate(_URL_SAFE)}
    return found


def _locate(envelope: Envelope, forms: set[str]) -> list[str]:
    """Every path in ``envelope``'s items whose text holds one of ``forms``."""
    found = [
        path
        for item in envelope.items
        if item.payload.json is not None
        for path, text in _walk(item.payload.json, item.type or "item")
        if any(form in text for form in forms)
    ]
    return found or ["in the raw envelope bytes"]


def _redact(value: str) -> str:
    # Its length only: a message or a CI log must not narrow a secret down (the test's own
    # argument order, ``#index``, says which one it is).
    return f"{len(value)} chars"
