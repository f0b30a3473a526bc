"""An app whose factory loads a developer's ``.env`` with ``override=True`` replaces the value a
production check gives it: a trial's release check said OK for a file the app refuses, and
``assert_rejects`` told an app that validates to validate. Both now say the value never
reached the app."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from pytest_hardening._cli import app as cli

APP = """
import os

from dotenv import load_dotenv
from starlette.applications import Starlette


def create_app():
    load_dotenv(override=True)  # a developer's .env beside the app wins
    if not os.environ["OVERRIDDEN_API_URL"].startswith("https://"):
        raise RuntimeError("OVERRIDDEN_API_URL: must use https in production")
    return Starlette()
"""

TESTS = """
import pytest

from overriding_app import create_app


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_prod_env():
    return {"OVERRIDDEN_API_URL": "https://api.example.com"}


def test_http_is_refused(prod_config):
    with pytest.raises(AssertionError) as failure:
        prod_config.assert_rejects(OVERRIDDEN_API_URL="http://api.example.com")
    said = str(failure.value)
    assert "load_dotenv(override=True) replaced OVERRIDDEN_API_URL" in said
    assert "set in .env" in said
    assert "Validate these variables" not in said
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> Path:
    pytester.makepyfile(overriding_app=APP)
    (pytester.path / ".env").write_text("OVERRIDDEN_API_URL=https://dev.example.com\n")
    pytester.syspathinsert()
    return pytester.path


def test_prod_config_says_the_value_never_reached_the_app(
    pytester: pytest.Pytester, project: Path
) -> None:
    pytester.makepyfile(test_overriding=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1)


def test_check_config_names_the_replaced_variable(project: Path) -> None:
    (project / ".env.production").write_text("OVERRIDDEN_API_URL=http://api.example.com\n")
    result = CliRunner().invoke(
        cli,
        ["check-config", "--env-file", ".env.production", "--factory", "overriding_app:create_app"],
    )
    assert result.exit_code == 1, result.output
    assert result.stdout.splitlines()[0].startswith(
        "OVERRIDDEN_API_URL: the app replaced .env.production's value with .env's while it "
        "was built (load_dotenv with override=True)"
    )
