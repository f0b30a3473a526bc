"""pytest plugin module pointing pytest-hardening's fixtures at the reference app.

    pytest -p pytest_hardening -p reference_app.testing

gives any test file ``hardened_app``/``hardened_client``/``faults``/``clock``/``breakers``/
``prod_config``/``route_audit``/``sentry_events``/``apm`` against :func:`reference_app.create_app`:
a development env with a SQLite file, Sentry on with a fake DSN (events are captured in memory,
never sent) and fake provider credentials; a production env built from
``.env.production.example`` with strong generated secrets in place of its placeholders; the five
providers answered by :mod:`reference_app.fakes`. The hardened clients authenticate as the test
merchant (``hardening_client_headers``: ``Authorization: Bearer`` :data:`TEST_MERCHANT_API_KEY`,
bound to :data:`TEST_MERCHANT_SHOPS`). ``hardened_client`` tests share one
running app per env, reset before each test by :func:`reset_app` (breakers, metrics, database
rows, caches), so the database file is one per test session (and xdist worker).
"""

from __future__ import annotations

import secrets
import types
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from pytest_hardening import Provider

from . import fakes
from ._app_reset import reset_app
from .config import SECRET_VARIABLES, hash_api_key
from .config._secrets import secret_problem

# The app (FastAPI, SQLAlchemy, Sentry) is imported by the fixtures that build it, not with
# this plugin: an xdist controller or a run that collects only never pays for it.

__all__ = [
    "DEV_ENV",
    "FAKE_SENTRY_DSN",
    "OTHER_MERCHANT_API_KEY",
    "OTHER_MERCHANT_SHOPS",
    "TEST_MERCHANT",
    "TEST_MERCHANT_API_KEY",
    "TEST_MERCHANT_SHOPS",
    "hardening_app_factory",
    "hardening_app_reset",
    "hardening_client_headers",
    "hardening_database_url",
    "hardening_dev_env",
    "hardening_prod_env",
    "hardening_providers",
    "production_example_env",
    "pytest_configure",
    "reset_app",
    "strong_production_env",
]

FAKE_SENTRY_DSN = "https://public@sentry.example/1"

#: The merchant the hardened clients authenticate as, its API key (test-only: published here)
#: and the shops the key is bound to (every shop the repository's tests and docs use).
TEST_MERCHANT = "acme"
TEST_MERCHANT_API_KEY = "rk_test_9c3f2a7e41b84d0f8e6a5c1b2d3e4f5a"
TEST_MERCHANT_SHOPS: tuple[str, ...] = (
    "acme.myshopify.com",
    "a.myshopify.com",
    "s.myshopify.com",
    "shop-1.myshopify.com",
    "live-demo.myshopify.com",
    "fuzz-shop.myshopify.com",
    "chaos-demo.myshopify.com",
)
#: A second merchant, for tests of what one merchant must not reach of another's.
OTHER_MERCHANT_API_KEY = "rk_test_other_51d0c2b7e9a84f36b1c0d9e8f7a6b5c4"
OTHER_MERCHANT_SHOPS: tuple[str, ...] = ("other.myshopify.com",)


def _merchant_keys() -> str:
    return ",".join(
        (
            f"{TEST_MERCHANT}:{hash_api_key(TEST_MERCHANT_API_KEY)}:{'|'.join(TEST_MERCHANT_SHOPS)}",
            f"other:{hash_api_key(OTHER_MERCHANT_API_KEY)}:{'|'.join(OTHER_MERCHANT_SHOPS)}",
        )
    )


#: Development settings with fake credentials for every provider (the fakes accept any): the one
#: development env of the harness, the chaos runs, the live tests and the benchmarks, which
#: derive their variants from it (``{**DEV_ENV, "DATABASE_URL": ...}``). Read-only.
DEV_ENV: Mapping[str, str] = types.MappingProxyType(
    {
        "APP_ENV": "development",
        "ENABLE_SENTRY": "true",
        "SENTRY_DSN": FAKE_SENTRY_DSN,
        "EXOTEL_ACCOUNT_SID": "acme1",
        "EXOTEL_API_KEY": "exotel-key",
        "EXOTEL_API_TOKEN": "exotel-token",
        "EXOTEL_CALLER_ID": "08047112233",
        "EXOTEL_WEBHOOK_BASE_URL": "https://hooks.example.com",
        "OPENAI_API_KEY": "sk-test-key",
        "WASABI_BUCKET": "recordings",
        "WASABI_ACCESS_KEY": "wasabi-access",
        "WASABI_SECRET_KEY": "wasabi-secret",
        "SHOPIFY_ACCESS_TOKEN": "shpat_test_token",
        "SHOPIFY_WEBHOOK_SECRET": "test-shopify-webhook-secret",
        "GOOGLE_CLIENT_ID": "client-id.apps.googleusercontent.com",
        "GOOGLE_CLIENT_SECRET": "google-client-secret",
        "MONITORING_ADMIN_TOKEN": "test-admin-token-5b1f-9dQ2xW7kLm",
        "MERCHANT_API_KEYS": _merchant_keys(),
        "MERCHANT_GOOGLE_ACCOUNTS": f"{fakes.GOOGLE_EMAIL}={TEST_MERCHANT}",
        # Tests place many calls in frozen time; the rate-limit tests set their own.
        "MERCHANT_RATE_LIMIT": "100000",
    }
)

# Package data, so that an installed wheel has it too; the repository's
# `.env.production.example` (what the docs pass to `hardening check-config`) links to it.
_EXAMPLE = Path(__file__).resolve().parent / "env.production.example"


def production_example_env(path: Path = _EXAMPLE) -> dict[str, str]:
    """The known-good production env in ``.env.production.example`` (KEY=VALUE lines)."""
    env: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            env[name.strip()] = value.strip()
    return env


def _strong_secret(name: str) -> str:
    # Drawn until the app's own rule accepts it, so no random draw can fail a test.
    while secret_problem(name, value := secrets.token_urlsafe(32)) is not None:
        pass
    return value


def strong_production_env(path: Path = _EXAMPLE) -> dict[str, str]:
    """``.env.production.example`` made deployable for tests: every secret and every
    ``replace-me`` placeholder replaced by a strong random value, the test merchants' keys and
    a SQLite file (override DATABASE_URL). The example itself is refused on purpose."""
    env = production_example_env(path)
    for name, value in list(env.items()):
        if name in SECRET_VARIABLES or "replace-me" in value.lower():
            env[name] = _strong_secret(name)
    env["SENTRY_DSN"] = f"https://{secrets.token_hex(16)}@sentry.example.com/1"
    env["EXOTEL_CALLER_ID"] = "08047112233"
    env["WASABI_BUCKET"] = "call-recordings"
    env["GOOGLE_CLIENT_ID"] = f"{secrets.token_hex(8)}.apps.googleusercontent.com"
    env["MERCHANT_API_KEYS"] = DEV_ENV["MERCHANT_API_KEYS"]
    # A durable file (a mounted volume); hardening_prod_env points it at the test database.
    env["DATABASE_URL"] = "sqlite+aiosqlite:////var/lib/reference-app/calls.db"
    return env


@pytest.fixture
def hardening_client_headers() -> Mapping[str, str]:
    """The hardened clients authenticate as :data:`TEST_MERCHANT` (override for another)."""
    return {"Authorization": f"Bearer {TEST_MERCHANT_API_KEY}"}


@pytest.fixture
def hardening_app_factory() -> Callable[[], Any]:
    from . import create_app

    return create_app


@pytest.fixture
def hardening_app_reset(hardening_app_factory: Callable[[], Any]) -> Callable[[Any], Any] | None:
    """:func:`reset_app` for the reference app; None (a build per test) for any other app a
    conftest below points the harness at."""
    from . import create_app

    return reset_app if hardening_app_factory is create_app else None


@pytest.fixture
def hardening_database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A SQLite file per test session (per xdist worker); the shared app's reset empties it
    before each test. Override for PostgreSQL or in-memory SQLite."""
    return f"sqlite+aiosqlite:///{tmp_path_factory.getbasetemp() / 'reference_app.db'}"


@pytest.fixture
def hardening_dev_env(hardening_database_url: str) -> dict[str, str]:
    """:data:`DEV_ENV` on the session's database, with no request tracing: errors are still
    captured, and a test about transactions sets ``SENTRY_TRACES_SAMPLE_RATE`` itself (a
    transaction per request was a fifth of each request's work, and only those tests read
    it)."""
    return {**DEV_ENV, "DATABASE_URL": hardening_database_url, "SENTRY_TRACES_SAMPLE_RATE": "0"}


#: The session's strong production env (see :func:`hardening_prod_env`).
_STRONG_PROD_ENV = pytest.StashKey[dict[str, str]]()


@pytest.fixture
def hardening_prod_env(
    request: pytest.FixtureRequest, hardening_database_url: str
) -> dict[str, str]:
    if not _EXAMPLE.is_file():
        pytest.fail(
            f"{_EXAMPLE} not found (installed without the repository?): override "
            "hardening_prod_env with a known-good production environment",
            pytrace=False,
        )
    # Drawn once per session: every hardened test asks for it (the harness clears its names),
    # and drawing its secrets, each checked by the app's own rule, cost 1.5 ms a test.
    strong = request.config.stash.get(_STRONG_PROD_ENV, None)
    if strong is None:
        strong = request.config.stash[_STRONG_PROD_ENV] = strong_production_env()
    return {**strong, "DATABASE_URL": hardening_database_url}


@pytest.fixture
def hardening_providers() -> dict[str, Provider]:
    return {
        name: Provider(url, healthy=handler) for name, (url, handler) in fakes.providers().items()
    }


_FIXTURES = (
    "hardening_app_factory",
    "hardening_client_headers",
    "hardening_app_reset",
    "hardening_database_url",
    "hardening_dev_env",
    "hardening_prod_env",
    "hardening_providers",
)


def pytest_configure(config: pytest.Config) -> None:
    # `-p reference_app.testing` is imported before entry-point plugins, and among plugins the
    # fixture registered last wins: pytest-hardening's defaults would shadow these. Registering
    # the same fixtures again now, after every plugin is loaded, makes them the last word.
    name = f"{__name__}:overrides"
    if config.pluginmanager.get_plugin(name) is None:
        holder = types.ModuleType(name)
        for fixture in _FIXTURES:
            setattr(holder, fixture, globals()[fixture])
        config.pluginmanager.register(holder, name)
