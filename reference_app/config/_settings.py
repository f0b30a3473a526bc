"""Settings: the app's typed configuration, built only from an explicit env mapping."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError, model_validator

from ._budget import (
    DEFAULT_MERCHANT_RATE_LIMIT,
    DEFAULT_SHUTDOWN_GRACE_SECONDS,
)
from ._environment import VARIABLES, AppEnv
from ._errors import ConfigurationError, Problem
from ._merchants import MerchantKey
from ._urls import is_placeholder_host, parse_http_url
from ._validation import check_environment

logger = logging.getLogger("reference_app.config")

DEV_FRONTEND_ORIGIN = "http://localhost:3000"
DEV_GOOGLE_CALLBACK_URL = "http://localhost:8080/api/auth/google/callback"
DEV_WEBHOOK_BASE_URL = "http://localhost:3000"


class Settings(BaseModel):
    """Typed configuration. Build it with :func:`load_settings` (or ``Settings.model_validate(env)``
    with a mapping of environment variable names): either way it validates and raises
    :class:`ConfigurationError` listing every problem. Fields are the variable names in lowercase.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    app_env: AppEnv = "development"
    frontend_url: str | None = None
    frontend_url_alt: str | None = None
    google_client_id: str | None = None
    google_client_secret: SecretStr | None = None
    google_callback_url: str = DEV_GOOGLE_CALLBACK_URL  # required in production
    exotel_webhook_base_url: str | None = None
    railway_public_domain: str | None = None
    exotel_base_url: str = "https://api.exotel.com"
    exotel_account_sid: str | None = None
    exotel_api_key: SecretStr | None = None
    exotel_api_token: SecretStr | None = None
    exotel_caller_id: str | None = None
    openai_base_url: str = "https://api.openai.com/v1"
    openai_api_key: SecretStr | None = None
    wasabi_endpoint: str = "https://s3.wasabisys.com"
    wasabi_region: str = "us-east-1"
    wasabi_bucket: str | None = None
    wasabi_access_key: SecretStr | None = None
    wasabi_secret_key: SecretStr | None = None
    shopify_access_token: SecretStr | None = None
    shopify_webhook_secret: SecretStr | None = None
    sentry_dsn: SecretStr | None = None
    enable_sentry: bool | None = None
    sentry_traces_sample_rate: float | None = None
    monitoring_admin_token: SecretStr | None = None
    database_url: SecretStr | None = None
    breaker_open_timeouts: dict[str, float] = {}
    provider_timeouts: dict[str, float] = {}
    shutdown_grace_seconds: float | None = None
    merchant_api_keys: tuple[MerchantKey, ...] = ()
    merchant_google_accounts: dict[str, str] = {}
    merchant_rate_limit: int = DEFAULT_MERCHANT_RATE_LIMIT

    @model_validator(mode="before")
    @classmethod
    def _from_env(cls, data: Any) -> Any:
        if not isinstance(data, Mapping) or not all(isinstance(v, str) for v in data.values()):
            raise ConfigurationError(
                [Problem("<settings>", "build Settings from a str -> str env mapping")]
            )
        values, problems = check_environment(data)
        if problems:
            raise ConfigurationError(problems)
        return values

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def cors_origins(self) -> list[str]:
        """Exact origins: no trailing slash, never ``*``; localhost:3000 outside production."""
        origins = [o for o in (self.frontend_url, self.frontend_url_alt) if o]
        if not self.is_production and DEV_FRONTEND_ORIGIN not in origins:
            origins.append(DEV_FRONTEND_ORIGIN)
        return origins

    @property
    def webhook_base_url(self) -> str:
        """Public base for Exotel callbacks: https://RAILWAY_PUBLIC_DOMAIN, else
        EXOTEL_WEBHOOK_BASE_URL, else (outside production only) http://localhost:3000."""
        if self.railway_public_domain:
            return f"https://{self.railway_public_domain}"
        if self.exotel_webhook_base_url and not _is_placeholder(self.exotel_webhook_base_url):
            return self.exotel_webhook_base_url
        return DEV_WEBHOOK_BASE_URL

    @property
    def webhook_base_url_is_fallback(self) -> bool:
        return self.webhook_base_url == DEV_WEBHOOK_BASE_URL and not self.railway_public_domain

    @property
    def shutdown_grace(self) -> float:
        """SHUTDOWN_GRACE_SECONDS, else a grace that covers one request budget."""
        return self.shutdown_grace_seconds or DEFAULT_SHUTDOWN_GRACE_SECONDS

    @property
    def sentry_enabled(self) -> bool:
        """On in production unless ENABLE_SENTRY=false, or with ENABLE_SENTRY=true; needs a DSN."""
        wanted = self.enable_sentry if self.enable_sentry is not None else self.is_production
        return wanted and self.sentry_dsn is not None

    @property
    def traces_sample_rate(self) -> float:
        if self.sentry_traces_sample_rate is not None:
            return self.sentry_traces_sample_rate
        return 0.1 if self.is_production else 1.0


def _is_placeholder(url: str) -> bool:
    parts = parse_http_url(url)
    return parts is not None and is_placeholder_host(parts.hostname or "")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from ``env`` (default: ``os.environ``), or raise ConfigurationError listing
    every problem. Logs the development fallbacks in use."""
    source = dict(os.environ if env is None else env)
    try:
        settings = Settings.model_validate(source)
    except ValidationError as exc:  # pragma: no cover - parsing produces valid types
        # Re-word without input values: pydantic's messages can echo them.
        fields = {v.setting: v.name for v in VARIABLES}
        raise ConfigurationError(
            Problem(fields.get(str(err["loc"][0]) if err["loc"] else "", "<settings>"), err["type"])
            for err in exc.errors(include_input=False, include_url=False)
        ) from None
    _log_fallbacks(settings)
    return settings


def _log_fallbacks(settings: Settings) -> None:
    if settings.is_production:
        return
    if settings.webhook_base_url_is_fallback:
        logger.warning(
            "neither RAILWAY_PUBLIC_DOMAIN nor EXOTEL_WEBHOOK_BASE_URL is set: Exotel status "
            "callbacks go to %s (development only)",
            DEV_WEBHOOK_BASE_URL,
        )
    if settings.enable_sentry and settings.sentry_dsn is None:
        logger.warning("ENABLE_SENTRY=true but SENTRY_DSN is not set: Sentry stays off")
