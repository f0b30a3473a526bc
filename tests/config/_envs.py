"""Known-good environments for the configuration tests."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_ENV_FILE = REPO_ROOT / ".env.production.example"

# Distinctive secret values, so a leak into an error message is detectable.
SECRETS = {
    "GOOGLE_CLIENT_SECRET": "gcs-Zq81-secret-value",
    "EXOTEL_API_KEY": "exk-Lm42-secret-value",
    "EXOTEL_API_TOKEN": "ext-Pw93-secret-value",
    "OPENAI_API_KEY": "sk-oai-Rt55-secret-value",
    "WASABI_ACCESS_KEY": "wak-Hy07-secret-value",
    "WASABI_SECRET_KEY": "wsk-Jk66-secret-value",
    "SHOPIFY_ACCESS_TOKEN": "shpat-Vb12-secret-value",
    "SHOPIFY_WEBHOOK_SECRET": "whsec-Nc38-secret-value",
    "MONITORING_ADMIN_TOKEN": "mon-Xe29-secret-value-Rk4Tz8",
    "SENTRY_DSN": "https://pubkeyQw77@o1.ingest.example.com/42",
}


def production_env() -> dict[str, str]:
    """A complete, valid production environment (a fresh dict each call)."""
    return {
        "APP_ENV": "production",
        "FRONTEND_URL": "https://app.example.com",
        "FRONTEND_URL_ALT": "https://admin.example.com",
        "GOOGLE_CLIENT_ID": "client-id.apps.example.com",
        "GOOGLE_CALLBACK_URL": "https://api.example.com/api/auth/google/callback",
        "EXOTEL_WEBHOOK_BASE_URL": "https://api.example.com",
        "EXOTEL_ACCOUNT_SID": "acct-sid",
        "EXOTEL_CALLER_ID": "08000000000",
        "WASABI_BUCKET": "recordings",
        "MERCHANT_API_KEYS": f"acme:{'ab' * 32}:acme.myshopify.com",
        "DATABASE_URL": "postgresql+asyncpg://calls@db.example.com:5432/calls",
        **SECRETS,
    }


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines; blank lines and # comments skipped."""
    env: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def with_changes(**changes: str | None) -> dict[str, str]:
    """:func:`production_env` with ``changes`` applied (None removes the variable)."""
    env = production_env()
    for name, value in changes.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
