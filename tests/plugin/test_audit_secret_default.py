"""A secret the audit drops while the app still starts is named as what it most likely is: a
default written in the app's code, which anyone who reads that code has (a trial's app signed
its sessions with one). The report says so beside the advice every dropped variable gets."""

from __future__ import annotations

import pytest

CONFTEST = """
import os

import pytest
from starlette.applications import Starlette


def create_app():
    if os.environ.get("APP_ENV") != "production":
        raise RuntimeError("APP_ENV must be 'production'")
    # The development default the audit finds: the app signs sessions with it in production.
    secret = os.environ.get("SESSION_SECRET", "dev-session-secret-from-the-code")
    if len(secret) < 24 or secret.startswith(("your", "change")):
        raise RuntimeError("SESSION_SECRET is too weak")
    return Starlette()


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_prod_env():
    return {"APP_ENV": "production", "SESSION_SECRET": "0123456789abcdef0123456789abcdef"}
"""


def test_a_dropped_secret_the_app_starts_without_is_called_published(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(
        test_audit="def test_audit(prod_config):\n    prod_config.audit().assert_ok()\n"
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*unsafe change(s) refused, 1 accepted",
            "*ACCEPTED SESSION_SECRET: dropped*",
            "*SESSION_SECRET dropped and the app started: it runs on a default of its own, or*",
            "*SESSION_SECRET: the app started without it: if its code gives it a default, "
            "that value is published with the code (whoever reads it has the secret, in every "
            "copy that runs on it), and if the app reads it only when a request needs it, a "
            "missing secret shows only then; production must set it, and the app refuse to "
            "start without it",
        ]
    )
    out = result.stdout.str()
    assert "0123456789abcdef" not in out  # the known-good secret is never shown
