"""Sentry client options and event hooks: PII hardening on top of the SDK's EventScrubber.

The SDK's EventScrubber (extended denylist, recursive) filters sensitive *keys* in request
headers/cookies/data, extra, user, breadcrumb data, frame variables and span data. The hooks here
cover what key-matching cannot: query strings, URLs, and free text (messages, exception values,
breadcrumb messages, span descriptions) that may carry phone numbers, emails or credentials.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, MutableMapping
from typing import Any

from sentry_sdk.integrations import DidNotEnable, Integration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, DEFAULT_PII_DENYLIST, EventScrubber

from reference_app.config import Settings, normalise_database_url

from ._redact import FILTERED, is_sensitive_name, redact_query, redact_text, redact_url

_EXTRA_DENYLIST = (
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    "x-api-key",
    "x-shopify-access-token",
    "x_shopify_access_token",
    "x-shopify-hmac-sha256",
    "x_shopify_hmac_sha256",
    "x-hub-signature",
    "x-hub-signature-256",
    "token",
    "access_token",
    "accesstoken",
    "refresh_token",
    "id_token",
    "password",
    "new_password",
    "otp",
    "otp_code",
    "pin",
    "api_key",
    "apikey",
    "api_token",
    "secret",
    "client_secret",
    "webhook_secret",
    "code",
    "state",
    "dsn",
    "signature",
    "sig",
    "hmac",
    "phone",
    "phone_number",
    "to",
    "from",
    "callerid",
    "caller_id",
)
_EXTRA_PII_DENYLIST = (
    "x-forwarded-for",
    "x-real-ip",
    "forwarded",
    "cf-connecting-ip",
)


def denylist() -> list[str]:
    """The SDK's default denylist plus ours (lowercase; matched against keys exactly)."""
    merged = [*DEFAULT_DENYLIST, *_EXTRA_DENYLIST]
    return list(dict.fromkeys(k.lower() for k in merged))


def pii_denylist() -> list[str]:
    return list(dict.fromkeys(k.lower() for k in (*DEFAULT_PII_DENYLIST, *_EXTRA_PII_DENYLIST)))


def make_event_scrubber() -> EventScrubber:
    return EventScrubber(
        denylist=denylist(), recursive=True, send_default_pii=False, pii_denylist=pii_denylist()
    )


def sentry_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``sentry_sdk.init``.

    ``send_default_pii`` is left unset: its default is False, and passing it explicitly is
    deprecated in sentry-sdk 2.x. ``data_collection`` is not used either: providing it disables
    the EventScrubber.
    """
    if settings.sentry_dsn is None:
        raise ValueError("SENTRY_DSN is not set")
    # Imported here: it imports the OpenAI SDK, which only a running app needs.
    from sentry_sdk.integrations.openai import OpenAIIntegration

    return {
        "dsn": settings.sentry_dsn.get_secret_value(),
        "environment": settings.app_env,
        "traces_sample_rate": settings.traces_sample_rate,
        "include_local_variables": False,
        "max_request_body_size": "never",
        "event_scrubber": make_event_scrubber(),
        "before_send": before_send,
        "before_send_transaction": before_send_transaction,
        "before_breadcrumb": before_breadcrumb,
        "in_app_include": ["reference_app"],
        # Only the integrations of what the app uses: auto-enabling would import every SDK that
        # happens to be installed (Anthropic's alone costs a second or more per boot).
        "auto_enabling_integrations": False,
        "integrations": used_integrations(settings),
        # It reports every OpenAI SDK error as unhandled, yet the app handles each one (the
        # template script); an OpenAI outage is reported once, when its breaker opens.
        "disabled_integrations": [OpenAIIntegration()],
    }


#: (module under ``sentry_sdk.integrations``, class): the frameworks and clients the app uses.
_USED_INTEGRATIONS = (
    ("starlette", "StarletteIntegration"),
    ("fastapi", "FastApiIntegration"),
    ("httpx", "HttpxIntegration"),
    ("httpx2", "Httpx2Integration"),
    ("sqlalchemy", "SqlalchemyIntegration"),
)
_POSTGRESQL_INTEGRATION = ("asyncpg", "AsyncPGIntegration")


def used_integrations(settings: Settings) -> list[Integration]:
    """The integrations of :data:`_USED_INTEGRATIONS` whose library is installed (httpx2 needs
    a recent sentry-sdk), and asyncpg's when the database is PostgreSQL: the integration imports
    the driver, which a SQLite app never loads."""
    wanted = list(_USED_INTEGRATIONS)
    url = settings.database_url.get_secret_value() if settings.database_url else None
    if normalise_database_url(url).startswith("postgresql"):
        wanted.append(_POSTGRESQL_INTEGRATION)
    found: list[Integration] = []
    for module, name in wanted:
        try:
            found_module = importlib.import_module(f"sentry_sdk.integrations.{module}")
            integration = getattr(found_module, name)
        except (ImportError, AttributeError, DidNotEnable):
            continue
        found.append(integration())
    return found


def _texts(container: Any, keys: tuple[str, ...], redact: Callable[[str], str]) -> None:
    if isinstance(container, MutableMapping):
        for key in keys:
            value = container.get(key)
            if isinstance(value, str):
                container[key] = redact(value)


def _all_strings(value: Any) -> Any:
    """Redact every string inside nested dicts/lists (extra, tags, breadcrumb data); values under
    a sensitive-looking key (``x-auth-token``, ``otp_code``) are filtered whole."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, MutableMapping):
        for key in list(value):
            item = value[key]
            if isinstance(key, str) and is_sensitive_name(key) and _is_scalar(item):
                value[key] = FILTERED
            else:
                value[key] = _all_strings(item)
    elif isinstance(value, list):
        value[:] = [_all_strings(item) for item in value]
    return value


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _scrub_request(event: MutableMapping[str, Any]) -> None:
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
    _texts(request, ("url",), redact_url)
    headers = request.get("headers")
    if isinstance(headers, MutableMapping):
        # The denylist matches exact names; X-Auth-Token, X-Amz-Security-Token... are caught by
        # name pattern. Other values (Referer, Origin...) can carry URLs with tokens, or PII.
        for key, value in headers.items():
            if isinstance(value, str):
                sensitive = isinstance(key, str) and is_sensitive_name(key)
                headers[key] = FILTERED if sensitive else redact_text(value)
    env = request.get("env")
    if isinstance(env, MutableMapping):
        env.pop("REMOTE_ADDR", None)


#: The transaction name of a request no route matched: its raw path may carry a token or an
#: OTP, and naming transactions by path would also make one name per attacker probe.
UNMATCHED_TRANSACTION = "<unmatched>"


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


def _scrub_common(event: MutableMapping[str, Any]) -> None:
    _scrub_request(event)
    _name_unmatched(event)
    _texts(event, ("message", "transaction"), redact_text)
    logentry = event.get("logentry")
    _texts(logentry, ("message", "formatted"), redact_text)
    if isinstance(logentry, MutableMapping) and "params" in logentry:
        logentry["params"] = _all_strings(logentry["params"])
    exceptions = event.get("exception")
    values = exceptions.get("values") if isinstance(exceptions, MutableMapping) else None
    for exc in values if isinstance(values, list) else ():
        _texts(exc, ("value",), redact_text)
        _scrub_source_context(exc)
    threads = event.get("threads")
    thread_values = threads.get("values") if isinstance(threads, MutableMapping) else None
    for thread in thread_values if isinstance(thread_values, list) else ():
        _scrub_source_context(thread)
    for key in ("extra", "tags"):
        if key in event:
            event[key] = _all_strings(event[key])
    crumbs = event.get("breadcrumbs")
    crumb_values = crumbs.get("values") if isinstance(crumbs, MutableMapping) else None
    for crumb in crumb_values if isinstance(crumb_values, list) else ():
        _scrub_crumb(crumb)


def _scrub_source_context(holder: Any) -> None:
    """Source lines can hold literals (test data, hard-coded values): redact them like text."""
    stacktrace = holder.get("stacktrace") if isinstance(holder, MutableMapping) else None
    frames = stacktrace.get("frames") if isinstance(stacktrace, MutableMapping) else None
    for frame in frames if isinstance(frames, list) else ():
        if isinstance(frame, MutableMapping):
            _texts(frame, ("context_line",), redact_text)
            for key in ("pre_context", "post_context"):
                if isinstance(frame.get(key), list):
                    frame[key] = _all_strings(frame[key])


def _scrub_crumb(crumb: Any) -> None:
    if not isinstance(crumb, MutableMapping):
        return
    _texts(crumb, ("message",), redact_text)
    data = crumb.get("data")
    if isinstance(data, MutableMapping):
        for key in ("http.query", "http.fragment"):
            if data.get(key):
                data[key] = FILTERED if key == "http.fragment" else redact_query(str(data[key]))
        _texts(data, ("url",), redact_url)
        crumb["data"] = _all_strings(data)


def before_send(event: Any, hint: Any) -> Any:
    """Redact free text in an error/message event after the SDK's own scrubbing."""
    if isinstance(event, MutableMapping):
        _scrub_common(event)
    return event


def before_send_transaction(event: Any, hint: Any) -> Any:
    """As ``before_send``, plus span descriptions and span URL data (outbound httpx calls)."""
    if isinstance(event, MutableMapping):
        _scrub_common(event)
        spans = event.get("spans")
        for span in spans if isinstance(spans, list) else ():
            if not isinstance(span, MutableMapping):
                continue
            _texts(span, ("description",), redact_text)
            data = span.get("data")
            if isinstance(data, MutableMapping):
                if data.get("http.query"):
                    data["http.query"] = redact_query(str(data["http.query"]))
                if data.get("http.fragment"):
                    data["http.fragment"] = FILTERED
                _texts(data, ("url",), redact_url)
                span["data"] = _all_strings(data)
    return event


def before_breadcrumb(crumb: Any, hint: Any) -> Any:
    """Redact breadcrumbs as they are recorded (they may outlive the request)."""
    _scrub_crumb(crumb)
    return crumb
