"""``hardening serve``: the reference app under uvicorn on 127.0.0.1, development mode."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from pytest_hardening.live import LiveApp
from reference_app.config import VARIABLE_NAMES


@pytest.mark.slow
def test_serve_answers_health_on_localhost_in_development_mode(tmp_path: Path) -> None:
    # LiveApp picks the port, and launches again on a new one if another process took it
    # before the server bound it.
    server = LiveApp(
        [sys.executable, "-m", "pytest_hardening", "serve", "--port", "{port}"],
        unset=(*VARIABLE_NAMES, "NODE_ENV"),
        health_path="/api/monitoring/health",
        ready_timeout=120.0,  # a bound for a failing run only
        cwd=tmp_path,  # the default SQLite file lands here
    )
    with server:
        with httpx.Client(trust_env=False, timeout=5) as http:
            body = http.get(f"{server.url}/api/monitoring/health").json()
        assert body["status"] == "healthy"
        assert body["mode"] == "development"
        stopped = server.terminate(timeout=15)  # SIGTERM: a requested stop
    output = server.output()
    assert server.url in output
    assert "in development mode" in output  # the startup mode is logged
    assert stopped.returncode == 0, output


@pytest.mark.slow
def test_a_refused_configuration_is_one_line_and_status_2(tmp_path: Path) -> None:
    (tmp_path / "prod.env").write_text("APP_ENV=production\n")
    env = {k: v for k, v in os.environ.items() if k not in VARIABLE_NAMES and k != "NODE_ENV"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest_hardening", "serve", "--env-file", "prod.env"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 2
    [line] = run.stderr.strip().splitlines()
    assert line.startswith("hardening serve: reference_app:create_app refused to start:")
    assert "Traceback" not in run.stdout + run.stderr


def test_serve_takes_an_app_made_at_import_as_uvicorn_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uvicorn = pytest.importorskip("uvicorn")
    from click.testing import CliRunner

    from pytest_hardening._cli import app as cli

    (tmp_path / "served_at_import.py").write_text(
        "async def app(scope, receive, send):\n    pass\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("APP_ENV", "development")  # what serve sets in its process: undone here
    served: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(app))
    monkeypatch.setattr("signal.signal", lambda *args: None)  # the runner's process keeps its own
    try:
        result = CliRunner().invoke(cli, ["serve", "--factory", "served_at_import:app"])
        assert result.exit_code == 0, result.output
        assert served == [sys.modules["served_at_import"].app]
    finally:
        sys.modules.pop("served_at_import", None)


def test_serve_refuses_in_one_line_without_the_values_the_apps_error_quotes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("uvicorn")
    from click.testing import CliRunner

    from pytest_hardening._cli import app as cli

    # A malformed URL (no colon after the scheme) still carries a password, and the app's
    # error quotes the whole value; a sys.exit() is a refusal too, with status 2.
    (tmp_path / "quoting_app.py").write_text(
        "import os, sys\n\n\ndef create_app():\n"
        "    if os.environ.get('EXIT'):\n        sys.exit(3)\n"
        "    raise ValueError(f\"cannot parse URL {os.environ['DATABASE_URL']!r}\")\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("APP_ENV", "development")  # what serve sets in its process: undone here
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg//app:Zq8vN3xLm2Rt7pKw9Yb4@db/app")
    try:
        result = CliRunner().invoke(cli, ["serve", "--factory", "quoting_app:create_app"])
        assert result.exit_code == 2, result.output
        assert "refused to start: ValueError: cannot parse URL" in result.stderr
        assert "Zq8vN3xLm2Rt7pKw9Yb4" not in result.output
        monkeypatch.setenv("EXIT", "1")
        result = CliRunner().invoke(cli, ["serve", "--factory", "quoting_app:create_app"])
        assert result.exit_code == 2, result.output
        assert "sys.exit(3) while it was built" in result.stderr
    finally:
        sys.modules.pop("quoting_app", None)
