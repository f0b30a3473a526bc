"""`check-config` on an env file that leaves out a secret the app reads with a default written
in its code (``os.getenv("SECRET_KEY", "dev-...")``): the build succeeded on that default, and
the command said "production configuration OK" (a trial's webhook service signed with it). A
secret a library reads for itself (an SDK's credential chain) is the library's business."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pytest_hardening._cli import app

runner = CliRunner()

APP = """
import os

from fastapi import FastAPI

import credlib

WEBHOOK_SECRET = os.getenv("WEBHOOK_SECRET", "dev-webhook-secret-in-the-code")
PRODUCTION_OPTIONAL = ["SENTRY_AUTH_TOKEN"]


def create_app() -> FastAPI:
    session_key = os.environ.get("SESSION_SECRET_KEY", "dev-session-key-in-the-code")
    os.environ.get("SENTRY_AUTH_TOKEN")  # a feature production may leave off: declared
    credlib.credentials()
    return FastAPI(title=session_key[:0] + "svc")
"""

#: An SDK's credential chain: an unset key is how it knows to look elsewhere (a role).
CREDLIB = """
import os


def credentials():
    return os.environ.get("CLOUD_SECRET_ACCESS_KEY")
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    package = tmp_path / "hooksvc"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text(APP)
    site = tmp_path / "site-packages"  # installed, as an SDK is
    site.mkdir()
    (site / "credlib.py").write_text(CREDLIB)
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(*extra: str) -> tuple[int, str]:
    args = ["check-config", "--env-file", "prod.env", "--factory", "hooksvc.app:create_app"]
    result = runner.invoke(app, [*args, *extra])
    return result.exit_code, result.stdout + result.stderr


def test_a_secret_the_app_reads_and_the_file_leaves_out_is_a_problem(project: Path) -> None:
    (project / "prod.env").write_text("APP_ENV=production\n")
    status, said = check()
    assert status == 1, said
    for name in ("WEBHOOK_SECRET", "SESSION_SECRET_KEY"):  # at import and in the factory
        assert (
            f"{name}: the app reads it and prod.env does not set it, so the app was built "
            "without it: if its code gives it a default, that value is published with the code"
        ) in said
    assert "dev-webhook-secret-in-the-code" not in said  # never shown: it is a secret
    assert "SENTRY_AUTH_TOKEN" not in said  # the app declares it optional
    assert "CLOUD_SECRET_ACCESS_KEY" not in said  # read by a library, for itself
    assert "production configuration OK" not in said


def test_set_or_declared_optional_is_no_problem(project: Path) -> None:
    (project / "prod.env").write_text(
        "APP_ENV=production\nWEBHOOK_SECRET=Zq8v3LmT1pR7wX2nB5kD9hF4\n"
    )
    status, said = check("--optional", "SESSION_SECRET_KEY")
    assert status == 0, said
    assert "production configuration OK" in said


def test_the_audits_note_on_a_dropped_secret_is_no_invitation_to_optional(
    project: Path,
) -> None:
    (project / "prod.env").write_text(
        "APP_ENV=production\nWEBHOOK_SECRET=Zq8v3LmT1pR7wX2nB5kD9hF4\n"
        "SESSION_SECRET_KEY=Yt6cN1sV8mQ3zK7pL2wR5jH0\n"
    )
    status, said = check("--audit")
    assert status == 1, said
    assert "audit: accepted WEBHOOK_SECRET: dropped" in said
    assert (
        "note: WEBHOOK_SECRET, SESSION_SECRET_KEY: the app started without it: if its code "
        "gives it a default, that value is published with the code"
    ) in said
    assert "--optional WEBHOOK_SECRET" not in said
    assert "Zq8v3LmT1pR7wX2nB5kD9hF4" not in said
