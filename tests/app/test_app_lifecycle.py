"""Factory and lifespan: nothing at import, per-instance state, startup work, graceful shutdown."""

from __future__ import annotations

import logging
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sentry_sdk
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ._support import BufferedSentryTransport, Switchboard
from .conftest import new_call


def test_importing_reference_app_builds_nothing() -> None:
    code = (
        "import sys, reference_app; "
        "print('fastapi' in sys.modules, 'sqlalchemy' in sys.modules, 'httpx' in sys.modules)"
    )
    out = subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "False", "False"]


def test_each_app_instance_owns_its_state(
    build: Callable[[dict[str, str]], FastAPI], dev_env: dict[str, str]
) -> None:
    first, second = build(dev_env), build(dev_env)

    assert first.state.breakers is not second.state.breakers
    assert first.state.apm is not second.state.apm
    first.state.breakers["exotel"].force_open()
    assert second.state.breakers["exotel"].state.value == "CLOSED"


def test_startup_creates_tables_and_logs_the_mode(
    build: Callable[[dict[str, str]], FastAPI],
    file_db_env: dict[str, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="reference_app")
    app = build(file_db_env)
    with TestClient(app):
        with sqlite3.connect(tmp_path / "calls.db") as db:
            tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        assert "calls" in tables
        assert app.state.services.http.is_closed is False
        services = app.state.services
    assert "started in development mode; test routes mounted at /api/test" in caplog.text
    assert services.http.is_closed  # shutdown closed the provider client
    assert app.state.services is None


def test_production_startup_logs_that_test_routes_are_not_mounted(
    build: Callable[[dict[str, str]], FastAPI],
    prod_env: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="reference_app")
    with TestClient(build(prod_env)):
        pass
    assert "started in production mode; test routes not mounted" in caplog.text


def test_graceful_shutdown_flushes_sentry(
    build: Callable[[dict[str, str]], FastAPI],
    dev_env: dict[str, str],
    sentry_transport: BufferedSentryTransport,
) -> None:
    app = build(dev_env | {"ENABLE_SENTRY": "true", "SENTRY_DSN": "https://k@sentry.example.com/1"})
    with TestClient(app):
        sentry_sdk.capture_message("captured while serving")
        assert sentry_transport.pending  # queued, not yet sent
        assert sentry_transport.delivered == []

    assert sentry_transport.flush_timeouts == [5.0]
    assert sentry_transport.pending == []
    messages = [
        e.get("message") or e.get("logentry", {}).get("message") for e in sentry_transport.events()
    ]
    assert "captured while serving" in messages


def test_unhandled_errors_reach_sentry_without_secrets(
    build: Callable[[dict[str, str]], FastAPI],
    prod_env: dict[str, str],
    sentry_transport: BufferedSentryTransport,
) -> None:
    app = build(prod_env)

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    with TestClient(app, raise_server_exceptions=False) as client:
        client.get("/boom?token=tok-123", headers={"Authorization": "Bearer abc-secret"})

    events = sentry_transport.events()
    assert any(
        v["type"] == "RuntimeError"
        for e in events
        for v in e.get("exception", {}).get("values", [])
    )
    serialized = str(events)
    assert "abc-secret" not in serialized
    assert "tok-123" not in serialized


def test_an_opening_breaker_is_reported_to_sentry_and_logged(
    build: Callable[[dict[str, str]], FastAPI],
    dev_env: dict[str, str],
    sentry_transport: BufferedSentryTransport,
    switchboard: Switchboard,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = build(dev_env | {"ENABLE_SENTRY": "true", "SENTRY_DSN": "https://k@sentry.example.com/1"})
    switchboard.fail("exotel", 503)
    with TestClient(app) as client:
        for _ in range(5):
            client.post("/api/calls", json=new_call())

    (event,) = [e for e in sentry_transport.events() if e.get("level") == "warning"]
    assert event["tags"]["breaker"] == "exotel"
    assert "circuit breaker exotel: CLOSED -> OPEN" in caplog.text


def test_app_starts_without_its_database_and_reports_it(
    build: Callable[[dict[str, str]], FastAPI],
    dev_env: dict[str, str],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    missing = tmp_path / "no-such-dir" / "calls.db"
    app = build(dev_env | {"DATABASE_URL": f"sqlite+aiosqlite:///{missing}"})

    with TestClient(app) as client:
        health = client.get("/api/monitoring/health")
        placed = client.post("/api/calls", json=new_call())
        missing.parent.mkdir()  # the database comes back: tables are created on first use
        recovered = client.post("/api/calls", json=new_call())

    assert recovered.status_code == 201
    assert "database unavailable at startup" in caplog.text
    assert health.status_code == 503
    assert health.json()["status"] == "unhealthy"
    assert placed.status_code == 503
    assert placed.headers["retry-after"] == "1"
