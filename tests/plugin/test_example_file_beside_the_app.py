"""The audit tries the value the project's example env file gives a secret, and flags the
known-good env holding it, also when the tests run from outside the app's folder (a trial's
tests beside the app: four accepted example secrets went unreported)."""

from __future__ import annotations

import pytest

APP = """
import os

from fastapi import FastAPI

API_KEY = os.environ["API_KEY"]  # required, never checked for strength
SIGNING_SECRET = os.environ["SIGNING_SECRET"]
app = FastAPI()


@app.get("/ping")
def ping():
    return {}
"""

CONFTEST = """
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent.parent / "service"))

from pytest_hardening import app_from_import

THE_APP = app_from_import("besidepkg.main:app")


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_prod_env():
    return {"API_KEY": "k7Qm2vX9pL4wZ8rTa1", "SIGNING_SECRET": "published-signing-secret"}
"""

TESTS = """
def test_audit(prod_config):
    accepted = [str(m) for m in prod_config.audit().accepted]
    assert "API_KEY: its .env.example value -> <redacted>" in accepted
    assert "SIGNING_SECRET: its .env.example value as given -> <redacted>" in accepted
"""


def test_the_apps_own_example_file_counts_from_another_folder(pytester: pytest.Pytester) -> None:
    service = pytester.mkdir("service")
    package = service / "besidepkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "main.py").write_text(APP)
    (service / ".env.example").write_text(
        "API_KEY=example-api-key-0000\nSIGNING_SECRET=published-signing-secret\n"
    )
    tests = pytester.mkdir("tests")
    (tests / "conftest.py").write_text(CONFTEST)
    (tests / "test_beside.py").write_text(TESTS)
    result = pytester.runpytest_inprocess(
        "tests", "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1)
