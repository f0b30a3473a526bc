"""Secrets held in one JSON variable (``WEBHOOK_SECRETS_JSON={"stripe": "...", "github":
"..."}``): the audit's weak values replaced the whole value, which the app refused for not being
JSON, so "4 unsafe changes refused" said nothing of the secrets inside; and a map holding
``changethis`` passed the check (a trial's webhook service). Each entry is now a secret of its
own, weakened one at a time, and a weak one in the file is reported."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pytest_hardening._cli import app

runner = CliRunner()

APP = """
import json
import os

from fastapi import FastAPI

raw = os.getenv("WEBHOOK_SECRETS_JSON")
if not raw:
    raise RuntimeError("WEBHOOK_SECRETS_JSON is required")
try:
    WEBHOOK_SECRETS = json.loads(raw)  # parsed, never checked: any value is accepted
except json.JSONDecodeError as exc:
    raise RuntimeError("Invalid WEBHOOK_SECRETS_JSON") from exc

app = FastAPI()
"""

GOOD = '{"stripe": "Zq8v3LmT1pR7wX2nB5kD9hF4", "github": "Yt6cN1sV8mQ3zK7pL2wR5jH0"}'


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    package = tmp_path / "mapsvc"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(APP)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def check(*extra: str) -> tuple[int, str]:
    args = ["check-config", "--env-file", "prod.env", "--factory", "mapsvc.main:app"]
    result = runner.invoke(app, [*args, *extra])
    return result.exit_code, result.stdout + result.stderr


def test_a_weak_secret_inside_the_files_map_is_a_problem(project: Path) -> None:
    (project / "prod.env").write_text(
        'WEBHOOK_SECRETS_JSON={"stripe": "changethis", "github": "Yt6cN1sV8mQ3zK7pL2wR5jH0"}\n'
    )
    status, said = check()
    assert status == 1, said
    assert (
        "WEBHOOK_SECRETS_JSON: is a published default at key 'stripe' ('changethis'), and the "
        "check accepted it: set a real secret"
    ) in said
    assert "Yt6cN1sV8mQ3zK7pL2wR5jH0" not in said
    assert "github" not in said


def test_the_audit_weakens_each_secret_in_the_map(project: Path) -> None:
    (project / "prod.env").write_text(f"WEBHOOK_SECRETS_JSON={GOOD}\n")
    status, said = check("--audit")
    assert status == 1, said
    for key in ("stripe", "github"):
        assert (
            f"audit: accepted WEBHOOK_SECRETS_JSON: published default 'changethis' at key "
            f"'{key}' -> <redacted>"
        ) in said
        assert f"audit: accepted WEBHOOK_SECRETS_JSON: short at key '{key}' -> <redacted>" in said
    # Not the whole value replaced: that only tried the app's JSON parser.
    assert "WEBHOOK_SECRETS_JSON: published default -> 'changethis'" not in said
    assert "Zq8v3LmT1pR7wX2nB5kD9hF4" not in said
