"""Sentry client options: the SDK's EventScrubber with an extended denylist, the app's own
hooks (``_event_scrub``: free text, URLs, query strings), and only the integrations it uses."""

from __future__ import annotations

import importlib
import sys
from typing import Any

from sentry_sdk.integrations import DidNotEnable, Integration
from sentry_sdk.scrubber import DEFAULT_DENYLIST, DEFAULT_PII_DENYLIST, EventScrubber

from reference_app.config import Settings, normalise_database_url

from ._event_scrub import EventScrub

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
    scrub = EventScrub()  # one per client: its memory of clean texts is this app's
    return {
        "dsn": settings.sentry_dsn.get_secret_value(),
        "environment": settings.app_env,
        "traces_sample_rate": settings.traces_sample_rate,
        "include_local_variables": False,
        "max_request_body_size": "never",
        "event_scrubber": make_event_scrubber(),
        "before_send": scrub.before_send,
        "before_send_transaction": scrub.before_send_transaction,
        "before_breadcrumb": scrub.before_breadcrumb,
        "in_app_include": ["reference_app"],
        # No trace headers on outbound calls: every one goes to a third party (Exotel, OpenAI,
        # Shopify, Wasabi, Google), and baggage carries the trace id, environment, release and
        # the DSN's public key.
        "trace_propagation_targets": [],
        # Only the integrations of what the app uses: auto-enabling would import every SDK that
        # happens to be installed (Anthropic's alone costs a second or more per boot).
        "auto_enabling_integrations": False,
        "integrations": used_integrations(settings),
        # It reports every OpenAI SDK error as unhandled, yet the app handles each one (the
        # template script); an OpenAI outage is reported once, when its breaker opens.
        "disabled_integrations": _installed_openai_integration(),
    }


def _installed_openai_integration() -> list[Integration]:
    """sentry-sdk's OpenAI integration, when another client of this process may have installed
    it (sentry-sdk then gives it to every later client unless disabled). Its module imports the
    OpenAI SDK, a second of CPU: while nothing imported the module, nothing installed it, and
    this client, built without it, never takes it up later."""
    module = sys.modules.get("sentry_sdk.integrations.openai")
    return [] if module is None else [module.OpenAIIntegration()]


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
