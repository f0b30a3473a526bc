"""The rules a production configuration must satisfy, on normalised env strings
(docs/production-checklist.md)."""

from __future__ import annotations

from collections.abc import Mapping

from ._budget import REQUEST_BUDGET_SECONDS
from ._environment import SECRET_VARIABLES, URL_VARIABLES
from ._errors import Problem
from ._secrets import is_placeholder, secret_problem
from ._urls import (
    is_internal_host,
    is_local_host,
    is_placeholder_host,
    normalise_host,
    origin_of,
    parse_http_url,
)

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
    "DATABASE_URL",
)

#: Variables a production configuration may leave unset (defaults apply). SENTRY_DSN is required
#: unless ENABLE_SENTRY=false; one of RAILWAY_PUBLIC_DOMAIN / EXOTEL_WEBHOOK_BASE_URL is required.
PRODUCTION_OPTIONAL: tuple[str, ...] = (
    "BREAKER_OPEN_TIMEOUTS",
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
        if name == "EXOTEL_WEBHOOK_BASE_URL" and "RAILWAY_PUBLIC_DOMAIN" in env:
            continue  # Railway's domain wins: a leftover base URL (even the placeholder) is unused
        problems.extend(_url_problems(name, env[name]))
    problems.extend(_secret_problems(env))
    problems.extend(_database_problems(env))
    grace = env.get("SHUTDOWN_GRACE_SECONDS")
    if grace is not None and _below(grace, REQUEST_BUDGET_SECONDS):
        problems.append(
            Problem(
                "SHUTDOWN_GRACE_SECONDS",
                f"must be at least the request budget ({REQUEST_BUDGET_SECONDS:g} s) in "
                "production, so in-flight calls can finish",
            )
        )
    domain = env.get("RAILWAY_PUBLIC_DOMAIN")
    if domain is not None and (is_local_host(domain) or is_placeholder_host(domain)):
        problems.append(
            Problem(
                "RAILWAY_PUBLIC_DOMAIN", "must be the public domain, not localhost or a placeholder"
            )
        )
    return problems


def _below(value: str, floor: float) -> bool:
    try:
        return float(value) < floor
    except ValueError:
        return False  # malformed: reported by parsing


def _secret_problems(env: Mapping[str, str]) -> list[Problem]:
    problems = []
    for name in sorted(env.keys()):
        value = env[name]
        if name in ("MERCHANT_API_KEYS", "MERCHANT_GOOGLE_ACCOUNTS"):
            continue  # their parsers accept no placeholder
        if name in SECRET_VARIABLES and name not in ("SENTRY_DSN", "DATABASE_URL"):
            message = secret_problem(name, value)
        elif "replace-me" in value.lower() or (name not in URL_VARIABLES and is_placeholder(value)):
            # Any variable still holding the example's placeholder (account SID, client id,
            # the DSN's key, a database password ...).
            message = "is a placeholder from the example: set the real value"
        else:
            message = None
        if message is not None:
            problems.append(Problem(name, message))
    return problems


def _database_problems(env: Mapping[str, str]) -> list[Problem]:
    url = env.get("DATABASE_URL", "")
    lowered = url.lower()
    in_memory = (
        lowered.split("?", 1)[0].rstrip("/").endswith(("sqlite:", "sqlite+aiosqlite:"))
        or ":memory:" in lowered
        or "mode=memory" in lowered
    )
    if url and in_memory:
        return [
            Problem(
                "DATABASE_URL",
                "is an in-memory database: acknowledged calls would be lost on restart",
            )
        ]
    return []


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


#: What else would satisfy a rule, for variables that have an alternative.
_OR = {"EXOTEL_WEBHOOK_BASE_URL": ": set it or RAILWAY_PUBLIC_DOMAIN to the public domain"}


def _url_problems(name: str, value: str) -> list[Problem]:
    parts = parse_http_url(value)
    if parts is None or (name.startswith("FRONTEND_URL") and origin_of(value) is None):
        return []  # malformed: reported by parsing
    host = normalise_host(parts.hostname or "") or ""
    problems = []
    if is_placeholder_host(host):
        problems.append(
            Problem(name, "is still the placeholder yourdomain.com" + _OR.get(name, ""))
        )
    if parts.scheme.lower() != "https":
        problems.append(Problem(name, "must use https in production"))
    if is_local_host(host):
        problems.append(
            Problem(name, "must not point at localhost/127.0.0.1/0.0.0.0/[::1] in production")
        )
    elif is_internal_host(host):
        problems.append(
            Problem(
                name,
                "must be a public host in production, not a private, link-local, metadata or "
                "cluster-internal one",
            )
        )
    return problems
