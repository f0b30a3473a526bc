"""The built wheel, installed without the ``app`` extra beside a project pinned to an old
FastAPI, runs a faults + clock + pybreaker test green, and the oldest tenacity and
circuitbreaker it supports back off in virtual time and reset (needs the package index)."""

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


# tenacity 8 keeps AsyncRetrying in tenacity._asyncio (its back-off slept for real under the
# clock); circuitbreaker 2.0 has no reset() (the adapter raised AttributeError).
OLD_LIBRARIES = ("tenacity==8.2.3", "circuitbreaker==2.0.0")

RATES_APP = """
import httpx
from circuitbreaker import CircuitBreaker
from fastapi import FastAPI, HTTPException
from tenacity import retry, stop_after_attempt, wait_fixed

def create_app():
    breaker = CircuitBreaker(failure_threshold=2, recovery_timeout=30, name="rates")
    app = FastAPI()
    app.state.breakers = {"rates": breaker}

    @retry(stop=stop_after_attempt(3), wait=wait_fixed(2), reraise=True)
    async def fetch():
        async with httpx.AsyncClient() as client:
            return (await client.get("https://rates.example/eur")).raise_for_status().json()

    @app.get("/rate")
    async def rate():
        try:
            return await breaker.call_async(fetch)
        except Exception:
            raise HTTPException(503) from None

    return app
"""

RATES_TEST = """
import httpx
import pytest
from importlib.metadata import version
from rates_app import create_app

@pytest.fixture
def hardening_app_factory():
    return create_app

@pytest.fixture
def hardening_providers():
    return {"rates": ("https://rates.example", httpx.Response(200, json={"rate": 1.1}))}

def test_old_tenacity_and_circuitbreaker(hardened_client, faults, clock, breakers):
    assert (version("tenacity"), version("circuitbreaker")) == ("8.2.3", "2.0.0")
    faults.fail("rates", 503, times=2)
    assert hardened_client.get("/rate").json() == {"rate": 1.1}
    assert faults.retry_sleeps == [2.0, 2.0]  # virtual: the clock moved, nobody slept
    assert clock.advanced == 4.0
    faults.fail("rates", 503)
    assert [hardened_client.get("/rate").status_code for _ in range(2)] == [503, 503]
    assert breakers.state("rates") == "OPEN"
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
    a pinned requirement is not on the package index reached here."""
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
        "No matching distribution found for",  # pip: not there, or no index answered
        "there is no version of",  # uv: not there
        "error sending request for url",  # uv: the index did not answer
    )
    if installed.returncode != 0 and any(text in installed.stderr for text in unreachable):
        pytest.skip(f"{requirements[1:]} not reachable on the package index here")
    assert installed.returncode == 0, installed.stderr[-3000:]
    return python


@pytest.mark.slow(seconds=7)
def test_the_wheel_without_the_app_extra_beside_fastapi_0_111(tmp_path: Path) -> None:
    uv = _uv()
    wheel = _build_wheel(uv, tmp_path)
    assert "reference_app/env.production.example" in zipfile.ZipFile(wheel).namelist()

    venv = tmp_path / "venv"
    python = _venv_with(uv, venv, wheel, "fastapi==0.111.0", "pybreaker", *OLD_LIBRARIES)

    project = tmp_path / "project"
    (project / "rates").mkdir(parents=True)
    for name, text in {
        "quotes_app.py": APP,
        "test_quotes.py": TEST,
        "conftest.py": CONFTEST,
        "rates/rates_app.py": RATES_APP,
        "rates/test_rates.py": RATES_TEST,
    }.items():
        (project / name).write_text(textwrap.dedent(text))
    run = _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert run.returncode == 0, run.stdout[-4000:]
    assert "2 passed" in run.stdout
    cli = _run(venv / "bin" / "hardening", "--help", cwd=project)
    assert cli.returncode == 0, cli.stderr
    # `-p reference_app.testing` reads its production example from the installed package.
    where = "import importlib.util as u; print(u.find_spec('reference_app').origin)"
    origin = Path(_run(python, "-c", where, cwd=tmp_path).stdout.strip())
    assert (origin.parent / "env.production.example").is_file()


OLD_STARLETTE_TEST = """
import httpx
import pytest
import starlette
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

def create_app():
    def quote(request):
        try:
            reply = httpx.get("https://quotes.example/q", timeout=2).raise_for_status()
        except httpx.HTTPError:
            return JSONResponse({"quote": None}, status_code=503)
        return JSONResponse(reply.json())
    return Starlette(routes=[Route("/quote", quote)])

@pytest.fixture
def hardening_app_factory():
    return create_app

@pytest.fixture
def hardening_providers():
    return {"quotes": ("https://quotes.example", httpx.Response(200, json={"quote": 1}))}

@pytest.fixture
def anyio_backend():
    return "asyncio"

def test_sync(hardened_client, faults, clock):
    assert starlette.__version__ == "0.27.0"
    assert hardened_client.get("/quote").json() == {"quote": 1}
    faults.fail("quotes", 500)
    assert hardened_client.get("/quote").status_code == 503

@pytest.mark.anyio
async def test_async(hardened_async_client, faults):
    assert (await hardened_async_client.get("/quote")).json() == {"quote": 1}
"""


@pytest.mark.slow(seconds=5)
def test_the_wheel_beside_a_starlette_whose_test_client_predates_httpx_0_28(
    tmp_path: Path,
) -> None:
    # Starlette 0.27's TestClient passes httpx an `app=` that httpx 0.28 removed: the hardened
    # clients fall back to the plugin's own ASGI client instead of failing to build.
    uv = _uv()
    wheel = _build_wheel(uv, tmp_path)
    python = _venv_with(uv, tmp_path / "venv", wheel, "starlette==0.27.0")
    project = tmp_path / "project"
    project.mkdir()
    (project / "test_old_starlette.py").write_text(textwrap.dedent(OLD_STARLETTE_TEST))
    run = _run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert run.returncode == 0, run.stdout[-4000:]
    assert "2 passed" in run.stdout
