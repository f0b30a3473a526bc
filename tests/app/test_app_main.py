"""``python -m reference_app``: refuses a bad production env; serves on 127.0.0.1 in development."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_development_server_answers_health_on_127_0_0_1(tmp_path: Path) -> None:
    port = _free_port()
    env = _env({"PORT": str(port), "DATABASE_URL": f"sqlite:///{tmp_path / 'served.db'}"})
    server = subprocess.Popen(
        [sys.executable, "-m", "reference_app"],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        # A bound for a failing run only: 3.4 s to health here when idle, 12-17 s beside burners.
        deadline = time.monotonic() + 120.0
        response = None
        with httpx.Client(timeout=2) as http:  # one client: each new one loads the CA bundle
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    response = http.get(f"http://127.0.0.1:{port}/api/monitoring/health")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)  # bounded wait for the real server to come up
        assert response is not None, "server did not come up within 120 s"
        assert response.status_code == 200
        assert response.json()["status"] == "healthy"
        assert response.json()["mode"] == "development"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=30)
    assert server.returncode == 0, output
    assert f"http://127.0.0.1:{port}" in output
    assert "started in development mode" in output
    assert (tmp_path / "served.db").exists()
