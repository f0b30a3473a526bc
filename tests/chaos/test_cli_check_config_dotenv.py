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


def test_a_value_the_settings_ignore_or_the_default_itself_is_no_problem(project: Path) -> None:
    # A trial's: pydantic-settings skips an empty value under env_ignore_empty, and a value
    # equal to the field's default gives production the same setting without the file.
    (project / "dotenvsvc" / "app.py").write_text(
        SETTINGS.replace('extra="ignore"', 'extra="ignore", env_ignore_empty=True').replace(
            "    debug: bool = False\n",
            "    debug: bool = False\n    smtp_user: str | None = None\n",
        )
    )
    (project / ".env").write_text(
        "SVC_SECRET_KEY=dev-only-secret\nSVC_SMTP_USER=\nSVC_DEBUG=false\n"
    )
    with (project / "prod.env").open("a") as env:
        env.write("SVC_SECRET_KEY=a-production-secret-of-length\n")
    status, said = check()
    assert status == 0, said
    assert "SVC_SMTP_USER" not in said
    assert "SVC_DEBUG" not in said
    (project / ".env").write_text("SVC_SMTP_USER=dev@example.com\nSVC_DEBUG=true\n")
    status, said = check()
    assert status == 1, said  # values of the file's own: the problem as before
    assert "SVC_SMTP_USER: not in prod.env" in said
    assert "SVC_DEBUG: not in prod.env" in said
    # What production would run on instead, when the field says (a trial's read as a false
    # alarm for a switch whose default is the safe one).
    assert "production would start without it, on the app's default (False)." in said


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


#: pydantic 1's settings (``pydantic.v1`` under pydantic 2): ``Config.env_file`` and a
#: field read from a variable of another name (``Field(env=...)``), as a trial's app had.
SETTINGS_V1 = """
from fastapi import FastAPI
from pydantic.v1 import BaseSettings, Field


class Settings(BaseSettings):
    secret: str = Field(..., env="SECRET_KEY")
    database_url: str

    class Config:
        env_file = ".env"


def create_app() -> FastAPI:
    Settings()
    return FastAPI()
"""


def test_pydantic_1_settings_reading_a_dotenv_are_seen(project: Path) -> None:
    (project / "dotenvsvc" / "app.py").write_text(SETTINGS_V1)
    (project / "prod.env").write_text("DATABASE_URL=postgresql://app:pw@db.internal/app\n")
    (project / ".env").write_text("SECRET_KEY=dev-only-secret\nSECRET=not-a-variable-it-reads\n")
    status, said = check()
    assert status == 1, said
    assert said.splitlines() == [
        "SECRET_KEY: not in prod.env, but the app's settings read it from .env (env_file), so "
        "the check saw that file's value: production would start without it. Set it in "
        "prod.env, or check from a folder without .env"
    ]


LOADS_DOTENV = """
import os
from pathlib import Path

from dotenv import load_dotenv
from fastapi import FastAPI

load_dotenv(Path(__file__).parent / ".env")  # a developer's file, beside the app
BUCKET = os.getenv("BUCKET")
if not BUCKET:
    raise ValueError("Missing BUCKET environment variable.")

app = FastAPI()
"""


def test_a_variable_the_apps_load_dotenv_filled_is_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A trial's: the app crashes at import in production without BUCKET, and the check said
    # "production configuration OK" because load_dotenv filled it from the developer's .env.
    (tmp_path / "bucketsvc.py").write_text(LOADS_DOTENV)
    (tmp_path / ".env").write_text("BUCKET=dev-bucket\nTZ_NOTE=1\n")
    (tmp_path / "prod.env").write_text("LOG_LEVEL=info\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    args = ["check-config", "--env-file", "prod.env", "--factory", "bucketsvc:app"]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output
    assert result.stdout.startswith(
        "BUCKET: not in prod.env, but the app loaded it from .env (load_dotenv)"
    )
    assert "dev-bucket" not in result.output
    assert "TZ_NOTE" not in result.stdout  # loaded too, but the app never reads it


def test_a_read_under_the_import_watch_is_still_the_apps(tmp_path: Path) -> None:
    # The import watch wraps the environment's reads too: a read through it is the app's.
    from pytest_hardening._env_reads import EnvAccess, ImportTimeReads

    (tmp_path / "readsmode.py").write_text("import os\nMODE = os.getenv('ENVIRONMENT')\n")
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        with EnvAccess() as reads, ImportTimeReads({"readsmode"}) as watch:
            __import__("readsmode")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("readsmode", None)
    assert "ENVIRONMENT" in reads.read
    assert "ENVIRONMENT" in watch.read
