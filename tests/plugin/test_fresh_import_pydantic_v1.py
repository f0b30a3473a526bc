"""A pydantic v1 app imported afresh (production builds, the route audit, the command's audit):
pydantic v1 records every ``@validator`` by module and name for the whole process and refuses
one declared again ("duplicate validator function"), so the second import of the app's settings
failed before any check ran, and the audit counted that failure as the app refusing every
unsafe variant: an unsafe app read as safe. The copy imported aside may declare its validators
again; the process's registry is as it was after."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_hardening import ProdConfigChecker, app_from_import
from pytest_hardening._registries import ImportAgainError

pytest.importorskip("pydantic.v1")

SETTINGS = """
from pydantic.v1 import BaseSettings, validator


class Settings(BaseSettings):
    app_env: str = "development"
    secret_key: str = "changethis"

    @validator("secret_key")
    def strong_in_production(cls, value, values):
        if values.get("app_env") == "production" and value == "changethis":
            raise ValueError("SECRET_KEY must be set in production")
        return value


settings = Settings()
"""

MAIN = """
from fastapi import FastAPI

from validated.settings import settings

app = FastAPI(debug=settings.app_env != "production")


if settings.app_env != "production":
    @app.get("/debug/settings")
    def dump() -> dict:
        return {"env": settings.app_env}
"""

PROD = {"APP_ENV": "production", "SECRET_KEY": "s3cr3t-k3y-for-prod"}


@pytest.fixture
def package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "validated").mkdir()
    (tmp_path / "validated" / "__init__.py").write_text("")
    (tmp_path / "validated" / "settings.py").write_text(SETTINGS)
    (tmp_path / "validated" / "main.py").write_text(MAIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delenv("APP_ENV", raising=False)
    monkeypatch.delenv("SECRET_KEY", raising=False)
    try:
        yield tmp_path
    finally:
        for name in [n for n in sys.modules if n.partition(".")[0] == "validated"]:
            del sys.modules[name]
        _forget()  # the next test's first import is the first again


def _forget() -> None:
    from pydantic.v1 import class_validators

    class_validators._FUNCS.difference_update(_declared())


def _declared() -> set[str]:
    from pydantic.v1 import class_validators

    return {n for n in class_validators._FUNCS if n.startswith("validated.")}


def test_the_audit_judges_the_apps_own_validator_after_the_tests_imported_it(
    package: Path,
) -> None:
    import validated.main  # noqa: F401 - the tests' own import: its validator is declared

    declared = _declared()
    assert declared  # pydantic v1 recorded it, as it would refuse it again
    checker = ProdConfigChecker(app_from_import("validated.main:app"), PROD)
    checker.assert_accepts()
    error = checker.assert_rejects(SECRET_KEY="changethis")
    assert "SECRET_KEY must be set in production" in str(error)
    report = checker.audit(optional=["APP_ENV"])
    # The app refuses its published default and accepts a short key: both are seen as they are.
    assert [str(m) for m in report.accepted] == [
        "SECRET_KEY: example placeholder -> 'your_secret_key_here'",
        "SECRET_KEY: short -> 'x'",
    ]
    assert len(report.rejected) == 2
    assert _declared() == declared  # the home copy's declarations, as they were


def test_builds_aside_first_leave_the_home_import_the_first_to_declare(package: Path) -> None:
    checker = ProdConfigChecker(app_from_import("validated.main:app"), PROD)
    checker.assert_accepts()
    checker.assert_accepts()
    assert _declared() == set()
    import validated.main  # the tests' import, after: not refused as a second declaration

    assert validated.main.settings.app_env == "development"


def test_the_command_audits_a_pydantic_v1_app(package: Path) -> None:
    (package / "prod.env").write_text("".join(f"{k}={v}\n" for k, v in PROD.items()))
    command = [sys.executable, "-m", "pytest_hardening", "check-config", "--env-file", "prod.env"]
    command += ["--factory", "validated.main:app", "--audit", "--optional", "APP_ENV"]
    done = subprocess.run(  # noqa: S603 - our own interpreter and module
        command, cwd=package, capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "audit: 4 unsafe variants tried, 2 finding(s)" in done.stdout
    assert "audit: accepted SECRET_KEY: short -> 'x'" in done.stdout
    assert "duplicate validator" not in done.stdout + done.stderr


def test_an_app_that_cannot_be_imported_again_is_not_audited_as_refusing(
    package: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry the plugin does not know (here, a hand-made one) still refuses the second
    import: the audit stops with why, instead of counting every variant as refused."""
    import builtins

    monkeypatch.setattr(builtins, "_validated_once", set(), raising=False)
    (package / "validated" / "once.py").write_text(
        "import builtins\n"
        "if builtins._validated_once:\n"
        "    raise ValueError('duplicate validator function \"validated.once.check\"')\n"
        "builtins._validated_once.add(1)\n"
        "from validated.main import app\n"
    )
    checker = ProdConfigChecker(app_from_import("validated.once:app"), PROD)
    with pytest.raises(ImportAgainError, match="cannot be imported a second time"):
        checker.audit(optional=["APP_ENV"])
