"""The Sentry hooks' PII hardening: free text, URLs and query strings in events, transactions
and breadcrumbs, on top of the SDK's key-based EventScrubber.

The SDK's EventScrubber (extended denylist, recursive) filters sensitive *keys* in request
headers/cookies/data, extra, user, breadcrumb data, frame variables and span data. The hooks here
cover what key-matching cannot: query strings, URLs, and free text (messages, exception values,
breadcrumb messages, span descriptions) that may carry phone numbers, emails or credentials.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

from ._redact import FILTERED, Redactor, is_sensitive_name, redact_query

#: The transaction name of a request no route matched: its raw path may carry a token or an
#: OTP, and naming transactions by path would also make one name per attacker probe.
UNMATCHED_TRANSACTION = "<unmatched>"


def _texts(container: Any, keys: tuple[str, ...], redact: Callable[[str], str]) -> None:
    if isinstance(container, MutableMapping):
        for key in keys:
            value = container.get(key)
            if isinstance(value, str):
                container[key] = redact(value)


#: Span data the SDK writes itself, never from a request: a thread id is a bare run of 15
#: digits, which the phone rule would filter.
_SDK_NUMBERS = frozenset({"thread.id"})


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


class EventScrub:
    """``before_send``, ``before_send_transaction`` and ``before_breadcrumb`` for one Sentry
    client. Its :class:`Redactor` remembers the texts it found clean (one per app: the SQL
    statements, span names and provider URLs every request repeats)."""

    __slots__ = ("_redact",)

    def __init__(self, redactor: Redactor | None = None) -> None:
        self._redact = redactor if redactor is not None else Redactor()

    def before_send(self, event: Any, hint: Any) -> Any:
        """Redact free text in an error/message event after the SDK's own scrubbing."""
        if isinstance(event, MutableMapping):
            self._scrub_common(event)
        return event

    def before_send_transaction(self, event: Any, hint: Any) -> Any:
        """As ``before_send``, plus span descriptions and span URL data (outbound calls)."""
        if isinstance(event, MutableMapping):
            self._scrub_common(event)
            spans = event.get("spans")
            for span in spans if isinstance(spans, list) else ():
                if not isinstance(span, MutableMapping):
                    continue
                _texts(span, ("description",), self._redact.text)
                self._scrub_http_data(span)
        return event

    def before_breadcrumb(self, crumb: Any, hint: Any) -> Any:
        """Redact breadcrumbs as they are recorded (they may outlive the request)."""
        self._scrub_crumb(crumb)
        return crumb

    def _all_strings(self, value: Any) -> Any:
        """Redact every string inside nested dicts/lists (extra, tags, breadcrumb data); values
        under a sensitive-looking key (``x-auth-token``, ``otp_code``) are filtered whole."""
        if isinstance(value, str):
            return self._redact.text(value)
        if isinstance(value, MutableMapping):
            for key in list(value):
                item = value[key]
                if isinstance(key, str) and is_sensitive_name(key) and _is_scalar(item):
                    value[key] = FILTERED
                elif key in _SDK_NUMBERS and isinstance(item, str) and item.isdigit():
                    continue
                else:
                    value[key] = self._all_strings(item)
        elif isinstance(value, list):
            value[:] = [self._all_strings(item) for item in value]
        return value

    def _scrub_request(self, event: MutableMapping[str, Any]) -> None:
        request = event.get("request")
        if not isinstance(request, MutableMapping):
            return
        request.pop("data", None)  # max_request_body_size="never"; drop anything that slipped in
        if "cookies" in request:
            request["cookies"] = FILTERED
        if isinstance(request.get("query_string"), str):
            request["query_string"] = redact_query(request["query_string"])
        elif request.get("query_string"):
            request["query_string"] = FILTERED
        _texts(request, ("url",), self._redact.url)
        headers = request.get("headers")
        if isinstance(headers, MutableMapping):
            # The denylist matches exact names; X-Auth-Token, X-Amz-Security-Token... are caught
            # by name pattern. Other values (Referer, Origin...) can carry URLs with tokens, or PII.
            for key, value in headers.items():
                if isinstance(value, str):
                    sensitive = isinstance(key, str) and is_sensitive_name(key)
                    headers[key] = FILTERED if sensitive else self._redact.text(value)
        env = request.get("env")
        if isinstance(env, MutableMapping):
            env.pop("REMOTE_ADDR", None)

    def _scrub_common(self, event: MutableMapping[str, Any]) -> None:
        self._scrub_request(event)
        _name_unmatched(event)
        _texts(event, ("message", "transaction"), self._redact.text)
        logentry = event.get("logentry")
        _texts(logentry, ("message", "formatted"), self._redact.text)
        if isinstance(logentry, MutableMapping) and "params" in logentry:
            logentry["params"] = self._all_strings(logentry["params"])
        exceptions = event.get("exception")
        values = exceptions.get("values") if isinstance(exceptions, MutableMapping) else None
        for exc in values if isinstance(values, list) else ():
            _texts(exc, ("value",), self._redact.text)
            self._scrub_source_context(exc)
        threads = event.get("threads")
        thread_values = threads.get("values") if isinstance(threads, MutableMapping) else None
        for thread in thread_values if isinstance(thread_values, list) else ():
            self._scrub_source_context(thread)
        for key in ("extra", "tags"):
            if key in event:
                event[key] = self._all_strings(event[key])
        crumbs = event.get("breadcrumbs")
        crumb_values = crumbs.get("values") if isinstance(crumbs, MutableMapping) else None
        for crumb in crumb_values if isinstance(crumb_values, list) else ():
            self._scrub_crumb(crumb)

    def _scrub_source_context(self, holder: Any) -> None:
        """Source lines can hold literals (test data, hard-coded values): redact them as text."""
        stacktrace = holder.get("stacktrace") if isinstance(holder, MutableMapping) else None
        frames = stacktrace.get("frames") if isinstance(stacktrace, MutableMapping) else None
        for frame in frames if isinstance(frames, list) else ():
            if isinstance(frame, MutableMapping):
                _texts(frame, ("context_line",), self._redact.text)
                for key in ("pre_context", "post_context"):
                    if isinstance(frame.get(key), list):
                        frame[key] = self._all_strings(frame[key])

    def _scrub_crumb(self, crumb: Any) -> None:
        if not isinstance(crumb, MutableMapping):
            return
        _texts(crumb, ("message",), self._redact.text)
        self._scrub_http_data(crumb)

    def _scrub_http_data(self, holder: MutableMapping[str, Any]) -> None:
        """A span's or breadcrumb's ``data``: the query redacted, the fragment filtered, the
        URL redacted, then every other string."""
        data = holder.get("data")
        if isinstance(data, MutableMapping):
            if data.get("http.query"):
                data["http.query"] = redact_query(str(data["http.query"]))
            if data.get("http.fragment"):
                data["http.fragment"] = FILTERED
            _texts(data, ("url",), self._redact.url)
            holder["data"] = self._all_strings(data)


def _name_unmatched(event: MutableMapping[str, Any]) -> None:
    info = event.get("transaction_info")
    source = info.get("source") if isinstance(info, MutableMapping) else None
    if "transaction" in event and source not in ("route", "component", "task", "custom"):
        event["transaction"] = UNMATCHED_TRANSACTION
        if isinstance(info, MutableMapping):
            info["source"] = "custom"
        # The path itself is what an attacker or a mistyped link put there: drop it.
        request = event.get("request")
        url = request.get("url") if isinstance(request, MutableMapping) else None
        if isinstance(request, MutableMapping) and isinstance(url, str):
            scheme, _, rest = url.partition("://")
            request["url"] = f"{scheme}://{rest.split('/', 1)[0]}/{FILTERED}"


def before_send(event: Any, hint: Any) -> Any:
    """Redact free text in an error/message event after the SDK's own scrubbing."""
    return EventScrub().before_send(event, hint)


def before_send_transaction(event: Any, hint: Any) -> Any:
    """As ``before_send``, plus span descriptions and span URL data (outbound httpx calls)."""
    return EventScrub().before_send_transaction(event, hint)


def before_breadcrumb(crumb: Any, hint: Any) -> Any:
    """Redact breadcrumbs as they are recorded (they may outlive the request)."""
    return EventScrub().before_breadcrumb(crumb, hint)
