"""`check-config` of an app that builds a cloud SDK's client when it is built: the client's
credentials probe of the metadata server is refused by the check's network guard, the library
swallows the refusal and raises its own error, and the command said "refused to build:
DefaultCredentialsError" as if the app had refused the env file. It says it could not judge
the build, naming the connection, and what to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pytest_hardening._cli import app

runner = CliRunner()

APP = """
import http.client
import os

from starlette.applications import Starlette


class DefaultCredentialsError(Exception):
    pass


def create_app():
    if len(os.environ.get("SECRET_KEY", "")) < 16:
        raise ValueError("SECRET_KEY must be set")
    if not os.environ.get("FIRESTORE_EMULATOR_HOST"):
        try:  # google.auth.default(): probe the metadata server, swallow, raise its own
            conn = http.client.HTTPConnection("169.254.169.254", 80, timeout=1)
            conn.request("GET", "/computeMetadata/v1/project/project-id")
            conn.getresponse()
        except OSError:
            pass
        raise DefaultCredentialsError("Your default credentials were not found.")
    return Starlette()
"""

KEY = "SECRET_KEY=Zq8v3LmT1xR7pW2nK9dF4hJ6sB0cY5gA\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "cloudsvc.py").write_text(APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(env: str, *options: str) -> tuple[int, str, str]:
    Path("prod.env").write_text(env)
    args = ["check-config", "--env-file", "prod.env", "--factory", "cloudsvc:create_app"]
    result = runner.invoke(app, [*args, *options])
    return result.exit_code, result.stdout, result.output


def test_a_build_failed_by_the_metadata_probe_is_not_called_refused(project: Path) -> None:
    status, out, said = check(KEY)
    assert status == 1, said
    first = out.splitlines()[0]
    assert first.startswith(
        "cloudsvc:create_app: could not judge the production build with this env: the check's "
        "network guard refused its connection to 169.254.169.254:80 (the cloud metadata server"
    ), out
    assert "DefaultCredentialsError: Your default credentials were not found" in first
    assert "in the env file" in first
    assert "lazily" in first
    assert "refused to build" not in said
    assert "--start runs the startup too" not in said  # nothing was built to start
    assert "1 problem(s) in prod.env: not shown safe to release (the check could not" in said


def test_the_audit_says_which_variants_it_could_not_judge(project: Path) -> None:
    status, out, said = check(KEY + "FIRESTORE_EMULATOR_HOST=localhost:8080\n", "--audit")
    assert status == 1, said
    assert (
        "audit: could not judge FIRESTORE_EMULATOR_HOST: dropped (its build failed with "
        "DefaultCredentialsError after the check refused 169.254.169.254:80"
    ) in out
    assert "refused without naming the variable: FIRESTORE_EMULATOR_HOST" not in out
    assert "note: a build that failed with an error of its own after the check refused" in said
    status, out, said = check(
        KEY + "FIRESTORE_EMULATOR_HOST=localhost:8080\n",
        "--audit",
        "--optional",
        "FIRESTORE_EMULATOR_HOST",
    )
    assert "could not judge" not in said
