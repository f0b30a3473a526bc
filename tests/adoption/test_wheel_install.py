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
    return subprocess.run(  # noqa: S603 - our own interpreter, uv and pip
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT
    )


def _uv() -> str | None:
    """uv (the `test` extra) builds and installs in about a tenth of pip's CPU; pip does the
    same steps where uv is not installed."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return None


def _build_wheel(uv: str | None, out: Path) -> Path:
    if uv:
        built = _run(uv, "build", "--wheel", "--python", sys.executable, "-o", out, ROOT, cwd=ROOT)
    else:
        built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", out, ROOT, cwd=ROOT)
    assert built.returncode == 0, built.stderr[-2000:]
    [wheel] = out.glob("pytest_hardening-*.whl")
    return wheel


def _venv_with(uv: str | None, venv: Path, *requirements: str | Path) -> Path:
    """A fresh virtualenv with ``requirements`` installed; returns its interpreter. Skips when
    FastAPI 0.111.0 is not on the package index reached here."""
    python = venv / "bin" / "python"
    if uv:
        made = _run(uv, "venv", "--quiet", "--python", sys.executable, venv, cwd=venv.parent)
        install = [uv, "pip", "install", "--quiet", "--python", python]
    else:
        made = _run(sys.executable, "-m", "venv", venv, cwd=venv.parent)
        install = [python, "-m", "pip", "install", "--quiet"]
    assert made.returncode == 0, made.stderr[-2000:]
    installed = _run(*install, *requirements, cwd=venv.parent)
    unreachable = (
        "No matching distribution found for fastapi",  # pip: not there, or no index answered
        "there is no version of fastapi==0.111.0",  # uv: not there
        "error sending request for url",  # uv: the index did not answer
    )
    if installed.returncode != 0 and any(text in installed.stderr for text in unreachable):
        pytest.skip("fastapi==0.111.0 is not reachable on the package index here")
    assert installed.returncode == 0, installed.stderr[-3000:]
    return python


@pytest.mark.slow(seconds=5)
def test_the_wheel_without_the_app_extra_beside_fastapi_0_111(tmp_path: Path) -> None:
    uv = _uv()
    wheel = _build_wheel(uv, tmp_path)
    assert "reference_app/env.production.example" in zipfile.ZipFile(wheel).namelist()

    venv = tmp_path / "venv"
    python = _venv_with(uv, venv, wheel, "fastapi==0.111.0", "pybreaker")

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
