"""`check-config --start` runs the app's startup as a test's `prod_config` does: an app that checks
its settings in its lifespan (the usual FastAPI pattern) was called fine by the command, and its
audit reported variants as accepted that the startup refuses, disagreeing with the fixture."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pytest_hardening import ProdConfigChecker
from pytest_hardening._cli import app

runner = CliRunner()

APP = """
import os
from contextlib import asynccontextmanager
from urllib.parse import urlparse

from fastapi import FastAPI


@asynccontextmanager
async def lifespan(app):
    if urlparse(os.environ.get("UPSTREAM_URL", "")).scheme != "https":
        raise ValueError("UPSTREAM_URL must be an https URL")
    yield


def create_app() -> FastAPI:
    return FastAPI(lifespan=lifespan)
"""

GOOD = {"UPSTREAM_URL": "https://upstream.prod.example.com"}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "startsvc.py").write_text(APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(env: str, *options: str) -> tuple[int, str]:
    Path("prod.env").write_text(env)
    args = ["check-config", "--env-file", "prod.env", "--factory", "startsvc:create_app"]
    result = runner.invoke(app, [*args, *options])
    return result.exit_code, result.output


def test_a_check_the_startup_makes_is_seen_with_start(project: Path) -> None:
    status, said = check("UPSTREAM_URL=http://upstream.prod.example.com\n")
    assert status == 0, said  # built only: the lifespan's check is not run
    assert "the app built (not started) with it" in said
    assert "--start runs the startup too" in said
    status, said = check("UPSTREAM_URL=http://upstream.prod.example.com\n", "--start")
    assert status == 1, said
    assert "UPSTREAM_URL must be an https URL" in said


def test_a_good_env_starts(project: Path) -> None:
    status, said = check("UPSTREAM_URL=https://upstream.prod.example.com\n", "--start")
    assert status == 0, said
    assert "the app built and started with it" in said


def test_the_audit_with_start_agrees_with_the_fixtures(project: Path) -> None:
    from startsvc import create_app  # type: ignore[import-not-found]

    expected = ProdConfigChecker(create_app, GOOD).audit(optional=[])
    status, said = check("UPSTREAM_URL=https://upstream.prod.example.com\n", "--audit", "--start")
    assert status == 1, said
    accepted = sorted(line for line in said.splitlines() if line.startswith("audit: accepted"))
    assert accepted == sorted(f"audit: accepted {m}" for m in expected.accepted)
    assert "audit: accepted UPSTREAM_URL: http scheme" not in said  # the startup refuses it
