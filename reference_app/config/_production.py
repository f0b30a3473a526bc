"""The rules a production configuration must satisfy, on normalised env strings
(docs/production-checklist.md)."""

from __future__ import annotations

from collections.abc import Mapping

from ._environment import URL_VARIABLES
from ._errors import Problem
from ._urls import is_local_host, is_placeholder_host, origin_of, parse_http_url

#: Secrets and credentials production cannot run without. The provider credentials are included
#: because degraded modes exist for outages, not for a deployment that was never configured:
#: without them every call would fail and the breakers would hide a configuration mistake.
PRODUCTION_REQUIRED: tuple[str, ...] = (
    "FRONTEND_URL",
    "GOOGLE_CALLBACK_URL",
    "GOOGLE_CLIENT_ID",
    "GOOGLE_CLIENT_SECRET",
    "EXOTEL_ACCOUNT_SID",
    "EXOTEL_API_KEY",
    "EXOTEL_API_TOKEN",
    "EXOTEL_CALLER_ID",
    "OPENAI_API_KEY",
    "WASABI_BUCKET",
    "WASABI_ACCESS_KEY",
    "WASABI_SECRET_KEY",
    "SHOPIFY_ACCESS_TOKEN",
    "SHOPIFY_WEBHOOK_SECRET",
    "MONITORING_ADMIN_TOKEN",
    "MERCHANT_API_KEYS",
)

#: Variables a production configuration may leave unset (defaults apply). SENTRY_DSN is required
#: unless ENABLE_SENTRY=false; one of RAILWAY_PUBLIC_DOMAIN / EXOTEL_WEBHOOK_BASE_URL is required.
PRODUCTION_OPTIONAL: tuple[str, ...] = (
    "BREAKER_OPEN_TIMEOUTS",
    "DATABASE_URL",
    "ENABLE_SENTRY",
    "EXOTEL_BASE_URL",
    "FRONTEND_URL_ALT",
    "MERCHANT_GOOGLE_ACCOUNTS",
    "MERCHANT_RATE_LIMIT",
    "OPENAI_BASE_URL",
    "PROVIDER_TIMEOUTS",
    "SENTRY_TRACES_SAMPLE_RATE",
    "SHUTDOWN_GRACE_SECONDS",
    "WASABI_ENDPOINT",
    "WASABI_REGION",
)

_FALSE = frozenset({"0", "false", "no", "off"})


def production_problems(env: Mapping[str, str]) -> list[Problem]:
    """Every violated production rule. ``env`` is normalised (stripped, empty values dropped).

    Malformed values are reported by parsing, not here, so nothing is listed twice.
    """
    problems = [
        Problem(name, "is required in production")
        for name in PRODUCTION_REQUIRED
        if name not in env
    ]
    problems.extend(_webhook_problems(env))
    sentry_off = env.get("ENABLE_SENTRY", "").lower() in _FALSE
    if "SENTRY_DSN" not in env and not sentry_off:
        problems.append(
            Problem(
                "SENTRY_DSN", "is required in production (or set ENABLE_SENTRY=false explicitly)"
            )
        )
    for name in sorted(URL_VARIABLES & env.keys()):
        problems.extend(_url_problems(name, env[name]))
    domain = env.get("RAILWAY_PUBLIC_DOMAIN")
    if domain is not None and (is_local_host(domain) or is_placeholder_host(domain)):
        problems.append(
            Problem(
                "RAILWAY_PUBLIC_DOMAIN", "must be the public domain, not localhost or a placeholder"
            )
        )
    return problems


def _webhook_problems(env: Mapping[str, str]) -> list[Problem]:
    if "RAILWAY_PUBLIC_DOMAIN" in env or "EXOTEL_WEBHOOK_BASE_URL" in env:
        return []
    return [
        Problem(
            "EXOTEL_WEBHOOK_BASE_URL",
            "is required in production unless RAILWAY_PUBLIC_DOMAIN is set "
            "(Exotel status callbacks need a public https URL)",
        )
    ]


def _url_problems(name: str, value: str) -> list[Problem]:
    parts = parse_http_url(value)
    if parts is None or (name.startswith("FRONTEND_URL") and origin_of(value) is None):
        return []  # malformed: reported by parsing
    host = parts.hostname or ""
    problems = []
    if is_placeholder_host(host):
        problems.append(Problem(name, "is still the placeholder yourdomain.com"))
    if parts.scheme.lower() != "https":
        problems.append(Problem(name, "must use https in production"))
    if is_local_host(host):
        problems.append(
            Problem(name, "must not point at localhost/127.0.0.1/0.0.0.0/[::1] in production")
        )
    return problems
