"""`check-config` on an env file that lacks a variable the app's settings find in a developer's
dotenv file: the build succeeded on that file's value, and the command said "production
configuration OK" for an env file production would refuse."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pytest_hardening._cli import app

runner = CliRunner()

SETTINGS = """
from fastapi import FastAPI
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_prefix="SVC_", extra="ignore")
    secret_key: str
    database_url: str
    debug: bool = False


def create_app() -> FastAPI:
    return FastAPI(debug=Settings().debug)
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    package = tmp_path / "dotenvsvc"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "app.py").write_text(SETTINGS)
    (tmp_path / "prod.env").write_text("SVC_DATABASE_URL=postgresql://app:pw@db.internal/app\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check() -> tuple[int, str]:
    args = ["check-config", "--env-file", "prod.env", "--factory", "dotenvsvc.app:create_app"]
    result = runner.invoke(app, args)
    return result.exit_code, result.stdout


def test_a_variable_only_the_developers_dotenv_sets_is_a_problem(project: Path) -> None:
    (project / ".env").write_text("SVC_SECRET_KEY=dev-only-secret\nUNRELATED=1\n")
    status, said = check()
    assert status == 1, said
    assert "SVC_SECRET_KEY: not in prod.env, but the app's settings read it from .env" in said
    assert "dev-only-secret" not in said
    assert "UNRELATED" not in said  # not one of the settings' variables


def test_without_the_dotenv_the_app_refuses_as_before(project: Path) -> None:
    status, said = check()
    assert status == 1, said
    assert "refused to build" in said


def test_an_env_file_that_sets_everything_is_ok_beside_a_dotenv(project: Path) -> None:
    (project / ".env").write_text("SVC_SECRET_KEY=dev-only-secret\n")
    with (project / "prod.env").open("a") as env:
        env.write("SVC_SECRET_KEY=a-production-secret-of-length\n")
    status, said = check()
    assert status == 0, said
    assert "production configuration OK" in said
