"""Fixtures for the reference app's own tests.

Two harnesses: pytest-hardening's fixtures (``hardened_client``, ``faults``, ``clock``,
``breakers``, ``apm``, ``sentry_events``, ``prod_config``, ``route_audit``) pointed at the app by
``reference_app.testing`` -- what ``-p reference_app.testing`` gives a project; a conftest below
the rootdir cannot use ``pytest_plugins``, so its fixtures are re-exported here, as in
tests/plugin -- and, for tests of lower-level seams (injected transport, Sentry transport,
manual breaker clock, env mappings), the ``build``/``app``/``client`` fixtures below, whose test
doubles are the same ``faults`` and a ``SentryCapture``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pytest_hardening import FaultInjector, SentryCapture
from reference_app import create_app, load_settings
from reference_app.resilience import ManualClock
from reference_app.testing import (  # noqa: F401 (fixtures are found by name)
    DEV_ENV,
    TEST_MERCHANT_API_KEY,
    hardening_app_factory,
    hardening_app_reset,
    hardening_client_headers,
    hardening_dev_env,
    hardening_prod_env,
    hardening_providers,
    production_example_env,
    strong_production_env,
)
from tests._postgres import PostgresAdmin

ADMIN_TOKEN = DEV_ENV["MONITORING_ADMIN_TOKEN"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # The harness's apps (``hardened_client`` ...) run every test on SQLite and on PostgreSQL.
    # Not as fixture params: a test that reaches the app only through a fixture asking for it
    # late (``breakers`` alone) cannot be parametrised, and keeps the default (SQLite).
    if "hardening_database_url" in metafunc.fixturenames:
        metafunc.parametrize("database_backend", ["sqlite", "postgresql"])


@pytest.fixture
def database_backend() -> str:
    return "sqlite"


@pytest.fixture
def hardening_database_url(
    database_backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    """One database per backend per session (and xdist worker), emptied by the shared app's
    reset before each test."""
    if database_backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path_factory.getbasetemp() / 'reference_app.db'}"
    url: str = request.getfixturevalue("postgres_session_url")
    return url


WEBHOOK_SECRET = DEV_ENV["SHOPIFY_WEBHOOK_SECRET"]
#: What the test merchant sends (the hardened clients send it too).
MERCHANT_HEADERS = {"Authorization": f"Bearer {TEST_MERCHANT_API_KEY}"}


@pytest.fixture
def dev_env() -> dict[str, str]:
    """The harness's development env with Sentry off (tests that want it turn it on) and an
    in-memory SQLite (one shared connection): fast; tests that inspect the file use file_db_env.
    """
    return {**DEV_ENV, "ENABLE_SENTRY": "false", "DATABASE_URL": "sqlite+aiosqlite://"}


@pytest.fixture
def file_db_env(dev_env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    """dev_env with the database in ``tmp_path / "calls.db"`` (inspectable with sqlite3)."""
    return dev_env | {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"}


@pytest.fixture
def prod_env(tmp_path: Path) -> dict[str, str]:
    env = strong_production_env()
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'prod.db'}"
    env["MONITORING_ADMIN_TOKEN"] = ADMIN_TOKEN
    env["SHOPIFY_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    return env


@pytest.fixture
def manual_clock() -> ManualClock:
    """The breakers' injected clock for ``build`` apps (the plugin's ``clock`` freezes time)."""
    return ManualClock(1000.0)


@pytest.fixture
def sentry_transport() -> SentryCapture:
    """Where ``build`` apps' Sentry clients send their envelopes."""
    return SentryCapture()


@pytest.fixture
def build(
    faults: FaultInjector,
    manual_clock: ManualClock,
    sentry_transport: SentryCapture,
) -> Iterator[Callable[[dict[str, str]], FastAPI]]:
    """Build apps from env mappings; their Sentry clients are closed (and restored) afterwards.

    Their provider client's injected transport is answered by ``faults`` (the fakes, plus any
    fault the test injects); ``faults.calls(name)`` is what each provider received.
    """
    built: list[FastAPI] = []

    def build(env: dict[str, str]) -> FastAPI:
        app = create_app(
            load_settings(env),
            http_transport=httpx.MockTransport(faults.respond),
            sentry_transport=sentry_transport,
            clock=manual_clock,
        )
        built.append(app)
        return app

    try:
        yield build
    finally:
        for app in reversed(built):
            app.state.sentry.close()


@pytest.fixture
def app(build: Callable[[dict[str, str]], FastAPI], dev_env: dict[str, str]) -> FastAPI:
    return build(dev_env)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, headers=MERCHANT_HEADERS) as client:
        yield client


def stored_rows(database_url: str, query: str) -> list[tuple[Any, ...]]:
    """Rows of ``query`` read straight from the database (SQLite file or PostgreSQL), around
    the app."""
    if database_url.startswith("sqlite"):
        path = database_url.removeprefix("sqlite+aiosqlite:///")
        with sqlite3.connect(path) as db:
            return db.execute(query).fetchall()
    return PostgresAdmin(database_url).fetch(database_url, query)


def new_call(**overrides: Any) -> dict[str, Any]:
    return {"order_id": "5521", "shop": "acme.myshopify.com", "phone": "+919876543210"} | overrides
