"""Configuration: typed Settings from environment variables, with strict production validation.

Build with :func:`load_settings` (``os.environ`` by default, or any ``Mapping[str, str]``); it
raises :class:`ConfigurationError` listing every problem, each naming its variable and never its
value. :func:`validate_environment` checks a mapping without building anything.

``APP_ENV`` is ``development`` (default) or ``production``. ``NODE_ENV`` is accepted as an alias
of ``APP_ENV`` because deployments migrated from the original Node service still set
``NODE_ENV=production``; ignoring it would silently boot development mode in production.
``APP_ENV`` wins when both are set. Empty values count as unset.

Settings is a frozen pydantic model built from an explicit mapping rather than a
pydantic-settings ``BaseSettings``: BaseSettings merges ``os.environ`` into every construction,
even ``model_validate(mapping)``, so a test or ``check-config`` run could silently pick up the
caller's environment. URL values are kept as plain strings (never pydantic URL types, which add a
trailing ``/`` that breaks CORS ``Origin`` matching).

Required in production (see ``PRODUCTION_REQUIRED``): FRONTEND_URL, GOOGLE_CALLBACK_URL, the
Google OAuth client, all Exotel/OpenAI/Wasabi/Shopify credentials, SHOPIFY_WEBHOOK_SECRET,
MONITORING_ADMIN_TOKEN; SENTRY_DSN unless ENABLE_SENTRY=false; RAILWAY_PUBLIC_DOMAIN or a
non-placeholder EXOTEL_WEBHOOK_BASE_URL. Every URL must be https and not local.

Optional tuning: ``BREAKER_OPEN_TIMEOUTS`` (``exotel=2,openai=2``: shorter breaker open timeouts
for live tests), ``PROVIDER_TIMEOUTS`` (``exotel=2,openai=2.5``: per-provider HTTP timeouts in
seconds; unset providers keep their client's default) and ``SHUTDOWN_GRACE_SECONDS`` (positive
seconds, default 30: at least one request budget).

Merchants (``MERCHANT_API_KEYS``, required in production; ``MERCHANT_GOOGLE_ACCOUNTS``;
``MERCHANT_RATE_LIMIT`` calls per minute, default 30): see :mod:`._merchants`.
"""

from __future__ import annotations

from ._breakers import SERVICE_BREAKERS
from ._budget import (
    DEFAULT_MERCHANT_RATE_LIMIT,
    DEFAULT_SHUTDOWN_GRACE_SECONDS,
    REQUEST_BUDGET_SECONDS,
)
from ._database import DEFAULT_DATABASE_URL, normalise_database_url
from ._environment import (
    BREAKER_NAMES,
    PROVIDER_NAMES,
    SECRET_VARIABLES,
    URL_VARIABLES,
    VARIABLE_NAMES,
)
from ._errors import ConfigurationError, Problem
from ._merchants import MerchantKey, hash_api_key
from ._production import PRODUCTION_OPTIONAL, PRODUCTION_REQUIRED
from ._settings import Settings, load_settings
from ._validation import validate_environment

__all__ = [
    "BREAKER_NAMES",
    "DEFAULT_DATABASE_URL",
    "DEFAULT_MERCHANT_RATE_LIMIT",
    "DEFAULT_SHUTDOWN_GRACE_SECONDS",
    "PRODUCTION_OPTIONAL",
    "PRODUCTION_REQUIRED",
    "PROVIDER_NAMES",
    "REQUEST_BUDGET_SECONDS",
    "SECRET_VARIABLES",
    "SERVICE_BREAKERS",
    "URL_VARIABLES",
    "VARIABLE_NAMES",
    "ConfigurationError",
    "MerchantKey",
    "Problem",
    "Settings",
    "hash_api_key",
    "load_settings",
    "normalise_database_url",
    "validate_environment",
]
