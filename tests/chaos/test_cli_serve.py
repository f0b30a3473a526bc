"""``hardening serve``: the reference app under uvicorn on 127.0.0.1, development mode."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from reference_app.config import VARIABLE_NAMES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
def test_serve_answers_health_on_localhost_in_development_mode(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in VARIABLE_NAMES and k != "NODE_ENV"}
    server = subprocess.Popen(  # noqa: S603 - our own command, fixed arguments
        [sys.executable, "-m", "pytest_hardening", "serve", "--port", str(port)],
        cwd=tmp_path,  # the default SQLite file lands here
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        body = None
        with httpx.Client(timeout=1) as http:  # one client: each new one loads the CA bundle
            while time.monotonic() < deadline and server.poll() is None:
                try:
                    response = http.get(f"http://127.0.0.1:{port}/api/monitoring/health")
                except httpx.TransportError:
                    time.sleep(0.1)  # a real server is starting: polling real time is the point
                    continue
                body = response.json()
                break
        assert body is not None, "server did not answer /api/monitoring/health"
        assert body["status"] == "healthy"
        assert body["mode"] == "development"
    finally:
        server.terminate()  # SIGTERM: a requested stop
        output, _ = server.communicate(timeout=15)
    assert f"http://127.0.0.1:{port}" in output
    assert "in development mode" in output  # the startup mode is logged
    assert server.returncode == 0, output


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
