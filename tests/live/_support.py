"""Shared pieces of the live tests: the reference app's env pointed at live fakes."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterable
from pathlib import Path

from pytest_hardening.live import LiveApp, LiveProviders
from reference_app.config import VARIABLE_NAMES
from reference_app.testing import DEV_ENV
from tests._postgres import PostgresAdmin

ROOT = Path(__file__).resolve().parents[2]
HEALTH = "/api/monitoring/health"
#: Inherited variables that would change the subprocess app's configuration.
UNSET = (*VARIABLE_NAMES, "NODE_ENV", "PORT")
SHOP = "live-demo.myshopify.com"


def database_url(database: Path | str) -> str:
    """A SQLite file's URL, or ``database`` itself when it is a URL already (PostgreSQL)."""
    return database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"


def app_env(live: LiveProviders, database: Path | str, **extra: str) -> dict[str, str]:
    """The test harness's development env (Sentry off), with every provider the app can be
    pointed at on a live fake.

    Shopify has no base-URL setting (the app calls ``https://{shop}/admin/...``): LiveApp's
    offline proxy refuses those calls, so the app takes its degraded path (generic script).
    """
    env = {
        **DEV_ENV,
        "ENABLE_SENTRY": "false",
        "DATABASE_URL": database_url(database),
        "EXOTEL_BASE_URL": live.url("exotel"),
        "OPENAI_BASE_URL": live.url("openai") + "/v1",
        "WASABI_ENDPOINT": live.url("wasabi"),
    }
    env.update(extra)
    return env


def reference_app(env: dict[str, str], **options: float) -> LiveApp:
    """``python -m reference_app --port N`` (the real entry point) on 127.0.0.1."""
    argv = [sys.executable, "-m", "reference_app", "--port", "{port}"]
    return LiveApp(argv, env=env, unset=UNSET, health_path=HEALTH, cwd=ROOT, **options)


def stored_ids(database: Path | str, ids: Iterable[str]) -> set[str]:
    """Which of ``ids`` are rows of the app's ``calls`` table, read around the app: straight
    from the SQLite file (read-only), or from PostgreSQL when ``database`` is its URL."""
    wanted = set(ids)
    if isinstance(database, str):
        rows = PostgresAdmin(database).fetch(database, "SELECT id FROM calls")
    else:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
            rows = conn.execute("SELECT id FROM calls").fetchall()
    return wanted & {str(row[0]) for row in rows}
