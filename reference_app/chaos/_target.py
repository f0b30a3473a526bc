"""The in-process harness for the reference app's chaos runs."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from pytest_hardening._providers import Provider
from pytest_hardening.chaos import ChaosTarget, HarnessSession
from reference_app import create_app, fakes
from reference_app.config import VARIABLE_NAMES

from ._catalogue import catalogue

#: Development mode, in-memory SQLite, fake credentials, Sentry errors captured in memory.
CHAOS_ENV: Mapping[str, str] = MappingProxyType(
    {
        "APP_ENV": "development",
        "DATABASE_URL": "sqlite+aiosqlite:///:memory:",
        "EXOTEL_ACCOUNT_SID": "acme1",
        "EXOTEL_API_KEY": "chaos-exotel-key",
        "EXOTEL_API_TOKEN": "chaos-exotel-token",
        "EXOTEL_CALLER_ID": "08047112233",
        "EXOTEL_WEBHOOK_BASE_URL": "https://hooks.example.com",
        "OPENAI_API_KEY": "sk-chaos",
        "WASABI_BUCKET": "recordings",
        "WASABI_ACCESS_KEY": "chaos-wasabi-access",
        "WASABI_SECRET_KEY": "chaos-wasabi-secret",
        "SHOPIFY_ACCESS_TOKEN": "shpat_chaos",
        "SHOPIFY_WEBHOOK_SECRET": "chaos-webhook-secret",
        "GOOGLE_CLIENT_ID": "chaos.apps.googleusercontent.com",
        "GOOGLE_CLIENT_SECRET": "chaos-google-secret",
        "MONITORING_ADMIN_TOKEN": "chaos-admin-token",
        # Errors are captured in memory; tracing every request would only cost time here.
        "ENABLE_SENTRY": "true",
        "SENTRY_DSN": "https://public@sentry.example.com/1",
        "SENTRY_TRACES_SAMPLE_RATE": "0",
    }
)


def session() -> HarnessSession:
    """A fresh app per run; every variable the app reads is cleared first, so the caller's
    shell environment (an ``APP_ENV=production``, a real DSN) never leaks into a chaos run."""
    providers = {name: Provider(url, handler) for name, (url, handler) in fakes.providers().items()}
    return HarnessSession(
        app_factory=create_app,
        env=CHAOS_ENV,
        providers=providers,
        clear=(*VARIABLE_NAMES, "NODE_ENV"),
    )


def target() -> ChaosTarget:
    return ChaosTarget("reference_app", catalogue, session())
