"""Factory and lifespan: nothing at import, per-instance state, startup work, graceful shutdown."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import pytest
import sentry_sdk
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pytest_hardening import FaultInjector, SentryCapture

from .conftest import MERCHANT_HEADERS, new_call

#: Run in a fresh interpreter: records who first imports a heavy package, then imports the app.
_IMPORT_PROBE = """
import importlib.abc, json, os, sys, traceback
HEAVY = ("fastapi", "sqlalchemy", "httpx", "sentry_sdk")
first = {}
class Spy(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        root = name.partition(".")[0]
        if root in HEAVY and root not in first:
            stack = [f for f in traceback.extract_stack()[:-1] if "<frozen" not in f.filename]
            first[root] = [f"{f.filename}:{f.lineno}" for f in stack][-4:]
        return None
sys.meta_path.insert(0, Spy())
import reference_app
print(json.dumps({"imported": {m: first.get(m) for m in HEAVY if m in sys.modules},
                  "files": sorted(os.listdir("."))}))
"""


def test_importing_reference_app_builds_nothing(tmp_path: Path) -> None:
    # Hermetic, so nothing from this test process leaks in: isolated mode (-I: no PYTHON*
    # variables, no user site, no cwd on sys.path), a bare environment and an empty directory.
    # The generous timeout is for a loaded CI machine; the probe itself takes well under 1 s.
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0"}
    run = subprocess.run(  # noqa: S603 (our own interpreter, fixed arguments)
        [sys.executable, "-I", "-c", _IMPORT_PROBE],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, f"importing reference_app failed:\n{run.stderr[-3000:]}"
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert report["imported"] == {}, (
        "importing reference_app must build nothing and stay light, but it imported "
        f"(package: import chain) {json.dumps(report['imported'], indent=1)}: move that import "
        "into the function that needs it"
    )
    assert report["files"] == [], f"importing reference_app created files: {report['files']}"


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
    sentry_transport: SentryCapture,
) -> None:
    app = build(dev_env | {"ENABLE_SENTRY": "true", "SENTRY_DSN": "https://k@sentry.example.com/1"})
    with mock.patch.object(sentry_transport, "flush", wraps=sentry_transport.flush) as flush:
        with TestClient(app):
            sentry_sdk.capture_message("captured while serving")
            flush.assert_not_called()  # a real transport still holds it in its queue

        flush.assert_called_once()
    assert flush.call_args.kwargs["timeout"] == 5.0
    sentry_transport.assert_captured(message="captured while serving")


@pytest.mark.production
def test_unhandled_errors_reach_sentry_without_secrets(
    hardened_app: FastAPI, hardened_client: TestClient, sentry_events: SentryCapture
) -> None:
    @hardened_app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    response = hardened_client.get(
        "/boom?token=tok-123", headers={"Authorization": "Bearer abc-secret"}
    )

    assert response.status_code == 500
    sentry_events.assert_captured(RuntimeError)
    # Anywhere in the serialized envelopes (events and transactions), not only in events.
    sentry_events.assert_no_secrets("abc-secret", "tok-123")


def test_an_opening_breaker_is_reported_to_sentry_and_logged(
    hardened_client: TestClient,
    faults: FaultInjector,
    sentry_events: SentryCapture,
    caplog: pytest.LogCaptureFixture,
) -> None:
    faults.fail("exotel", 503)
    for _ in range(5):
        hardened_client.post("/api/calls", json=new_call())

    (event,) = [e for e in sentry_events.events if e.get("level") == "warning"]
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

    with TestClient(app, headers=MERCHANT_HEADERS) as client:
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
