"""The built wheel, installed without the ``app`` extra beside a project pinned to an old
FastAPI, runs a faults + clock + pybreaker test green (needs the package index)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 600  # seconds per step: a bound for a slow index, not a measurement

APP = """
import httpx
import pybreaker
from fastapi import FastAPI, HTTPException

def create_app():
    quotes = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=30)
    app = FastAPI()
    app.state.breakers = {"quotes": quotes}

    def fetch():
        response = httpx.get("https://quotes.example/q")
        response.raise_for_status()
        return response.json()

    @app.get("/quote")
    def quote():
        try:
            return quotes.call(fetch)
        except (pybreaker.CircuitBreakerError, httpx.HTTPError):
            raise HTTPException(503) from None

    return app
"""

TEST = """
import fastapi

def test_quotes_outage(hardened_client, faults, clock, breakers):
    assert fastapi.__version__ == "0.111.0"
    faults.fail("quotes", 500)
    assert [hardened_client.get("/quote").status_code for _ in range(2)] == [503, 503]
    assert breakers.state("quotes") == "OPEN"
    faults.heal()
    clock.advance(31)
    assert hardened_client.get("/quote").json() == {}
    assert breakers.state("quotes") == "CLOSED"
"""

CONFTEST = """
import pytest
from quotes_app import create_app

@pytest.fixture
def hardening_app_factory():
    return create_app

@pytest.fixture
def hardening_providers():
    return {"quotes": "https://quotes.example"}
"""


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own interpreter and pip
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT
    )


def test_the_wheel_without_the_app_extra_beside_fastapi_0_111(tmp_path: Path) -> None:
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", tmp_path, ROOT, cwd=ROOT)
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = tmp_path.glob("pytest_hardening-*.whl")
    assert "reference_app/env.production.example" in zipfile.ZipFile(wheel).namelist()

    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", venv, cwd=tmp_path).returncode == 0
    python = venv / "bin" / "python"
    install = _run(
        python, "-m", "pip", "install", "-q", wheel, "fastapi==0.111.0", "pybreaker", cwd=tmp_path
    )
    if install.returncode != 0 and "No matching distribution found for fastapi" in install.stderr:
        pytest.skip("fastapi==0.111.0 is not reachable on the package index here")
    assert install.returncode == 0, install.stderr[-3000:]

    project = tmp_path / "project"
    project.mkdir()
    for name, text in {
        "quotes_app.py": APP,
        "test_quotes.py": TEST,
        "conftest.py": CONFTEST,
    }.items():
        (project / name).write_text(textwrap.dedent(text))
    run = _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert run.returncode == 0, run.stdout[-4000:]
    assert "1 passed" in run.stdout
    cli = _run(venv / "bin" / "hardening", "--help", cwd=project)
    assert cli.returncode == 0, cli.stderr
    # `-p reference_app.testing` reads its production example from the installed package.
    where = "import importlib.util as u; print(u.find_spec('reference_app').origin)"
    origin = Path(_run(python, "-c", where, cwd=tmp_path).stdout.strip())
    assert (origin.parent / "env.production.example").is_file()
