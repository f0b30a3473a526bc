"""A known-good build that is itself unsafe fails the audit, after every variant was tried:
the failure says each problem, whether its env or the app's code sets it (a trial's app had
`allow_origins=["*"]` with credentials written in its source, and the audit stopped with "fix
the app (or hardening_prod_env)", hiding an API key it accepted empty)."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from pytest_hardening import Mutation, ProdConfigChecker

KEY = "sk-proj-Zq8v3LmT1x9PqR7sK2wYb4"


def _open_app(origins: str | None = None, *, debug: bool = False) -> Any:
    def create() -> FastAPI:
        os.environ.get("OPENAI_API_KEY", "")  # read, never validated
        app = FastAPI(debug=debug or os.environ.get("DEBUG") == "true")
        allowed = origins if origins is not None else os.environ.get("CORS_ORIGINS", "")
        app.add_middleware(CORSMiddleware, allow_origins=allowed.split(","), allow_credentials=True)
        return app

    return create


def test_the_variants_are_tried_and_a_value_written_in_the_code_is_said_so() -> None:
    found: list[str] = []
    checker = ProdConfigChecker(_open_app("*"), {"OPENAI_API_KEY": KEY}, on_finding=found.append)
    with pytest.raises(AssertionError) as failure:
        checker.audit()
    message = str(failure.value)
    assert "fix the app until prod_config.assert_accepts() passes" in message
    assert "hardening_prod_env (or the app)" not in message  # no env can fix it
    assert (
        "comes from the app's code, not its env: no variable of hardening_prod_env holds '*'"
        in (message)
    )
    assert "ACCEPTED OPENAI_API_KEY: short -> 'x'" in message  # beside it, every variant's
    assert KEY not in message
    report = failure.value.report  # type: ignore[attr-defined]
    assert [(m.variable, m.kind) for m in report.accepted][:2] == [
        ("OPENAI_API_KEY", "drop"),
        ("OPENAI_API_KEY", "published default"),
    ]
    [unsafe] = report.unsafe
    assert "lets any origin make credentialed requests" in unsafe
    assert found[0] == f"unsafe known-good build: {unsafe}"
    assert "accepted OPENAI_API_KEY: short -> 'x'" in found
    assert report.findings[0] == found[0]


def test_a_value_the_env_gives_is_the_envs_to_fix() -> None:
    env = {"OPENAI_API_KEY": KEY, "CORS_ORIGINS": "*", "DEBUG": "true"}
    with pytest.raises(AssertionError) as failure:
        ProdConfigChecker(_open_app(), env).audit()
    message = str(failure.value)
    assert "fix hardening_prod_env (or the app) until" in message
    assert "comes from the app's code" not in message
    assert "DEBUG in hardening_prod_env switches it on: switch it off there" in message
    assert "(CORS_ORIGINS in hardening_prod_env holds it)" in message


def test_debug_written_in_the_code_is_said_so_by_assert_accepts() -> None:
    checker = ProdConfigChecker(_open_app("https://shop.example", debug=True), {"X_KEY": KEY})
    with pytest.raises(AssertionError, match="runs in debug mode") as failure:
        checker.assert_accepts()
    assert (
        "comes from the app's code, not its env: no variable of hardening_prod_env switches "
        in (str(failure.value))
    )


def test_a_published_example_value_is_shown_as_check_config_shows_it() -> None:
    # A committed .env.example's placeholder is public: shown, as check-config shows it; a
    # value that looks like no placeholder may be a real key committed by mistake: not.
    shown = Mutation("PAYMENTS_API_KEY", "its .env.example value", "your-payments-api-key")
    assert str(shown) == "PAYMENTS_API_KEY: its .env.example value -> 'your-payments-api-key'"
    hidden = Mutation("PAYMENTS_API_KEY", "its .env.example value", "pk_live_4f9a8b7c6d5e")
    assert str(hidden) == "PAYMENTS_API_KEY: its .env.example value -> <redacted>"


APP = """
import os

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware


def create_app():
    os.environ.get("OPENAI_API_KEY", "")
    app = FastAPI()
    app.add_middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)
    return app
"""

CONFTEST = f"""
import pytest
from open_app import create_app


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_prod_env():
    return {{"OPENAI_API_KEY": "{KEY}"}}
"""


def test_a_run_reports_the_unsafe_build_beside_the_variants(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(open_app=APP)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_it="def test_audit(prod_config):\n    prod_config.audit()\n")
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio",
        "--hardening-report=report.json",
    )  # fmt: skip
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*UNSAFE known-good build: *any origin*comes from the app's code*",
            "*ACCEPTED OPENAI_API_KEY: dropped*",
        ]
    )
    [test] = json.loads((pytester.path / "report.json").read_text())["tests"]
    assert test["audit_findings"][0].startswith("unsafe known-good build:")
    assert "accepted OPENAI_API_KEY: dropped" in test["audit_findings"]
