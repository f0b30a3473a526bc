"""``python -m reference_app``: refuses a bad production env; serves on 127.0.0.1 in development."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from pytest_hardening.live import LiveApp
from reference_app.config import VARIABLE_NAMES

from .conftest import ADMIN_TOKEN


def _env(extra: dict[str, str]) -> dict[str, str]:
    # Only what the interpreter needs: no app variables leak in from the developer's shell.
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT")}
    return keep | extra


def test_production_with_incomplete_env_exits_non_zero_listing_every_problem() -> None:
    env = _env({"APP_ENV": "production", "MONITORING_ADMIN_TOKEN": ADMIN_TOKEN})

    result = subprocess.run(
        [sys.executable, "-m", "reference_app", "--port", "9"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    for variable in ("FRONTEND_URL", "GOOGLE_CALLBACK_URL", "EXOTEL_WEBHOOK_BASE_URL"):
        assert variable in result.stderr
    assert "Traceback" not in result.stderr
    assert ADMIN_TOKEN not in result.stderr + result.stdout
    assert "Uvicorn running" not in result.stderr


@pytest.mark.slow
def test_development_server_answers_health_on_127_0_0_1(tmp_path: Path) -> None:
    # PORT="{port}": LiveApp picks the port, and launches again on a new one if another
    # process took it before the server bound it.
    server = LiveApp(
        [sys.executable, "-m", "reference_app"],
        env={"PORT": "{port}", "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}"},
        unset=(*VARIABLE_NAMES, "NODE_ENV"),  # no app variable leaks in from the shell
        health_path="/api/monitoring/health",
        # A bound for a failing run only: 3.4 s to health here when idle, 12-17 s beside burners.
        ready_timeout=120.0,
        cwd=tmp_path,
    )
    with server:
        with httpx.Client(trust_env=False, timeout=5) as http:
            response = http.get(f"{server.url}/api/monitoring/health")
        assert response.status_code == 200
        assert response.json()["status"] == "healthy"
        assert response.json()["mode"] == "development"
        stopped = server.terminate(timeout=30)
    output = server.output()
    assert stopped.returncode == 0, output
    assert server.url in output
    assert "started in development mode" in output
    assert (tmp_path / "served.db").exists()
