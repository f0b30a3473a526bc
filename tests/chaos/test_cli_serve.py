"""``hardening serve``: the reference app under uvicorn on 127.0.0.1, development mode."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from reference_app.config import VARIABLE_NAMES


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


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
        while time.monotonic() < deadline and server.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/api/monitoring/health", timeout=1)
            except httpx.TransportError:
                time.sleep(0.1)  # a real server is starting: polling real time is the point
                continue
            body = response.json()
            break
        assert body is not None, "server did not answer /api/monitoring/health"
        assert body["status"] == "healthy"
        assert body["mode"] == "development"
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=15)
    assert f"http://127.0.0.1:{port}" in output
