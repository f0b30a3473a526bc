"""An app that refuses a setting by logging it and calling ``sys.exit(1)``: in its lifespan,
prod_config crashed with ``SystemExit(1) [single exception in BaseExceptionGroup]`` (a
trial's); in its factory, the refusal named no variable. Both are refusals now, named by what
the app logged just before it exited."""

from __future__ import annotations

import pytest

CONFTEST = """
import logging
import os
import sys
from contextlib import asynccontextmanager

import pytest
from starlette.applications import Starlette

log = logging.getLogger("exit_app")


def _check():
    if len(os.environ.get("JWT_SECRET_KEY", "")) < 32:
        log.critical("Configuration error: JWT_SECRET_KEY should be at least 32 characters")
        sys.exit(1)


def in_lifespan():
    @asynccontextmanager
    async def lifespan(app):
        _check()
        yield

    return Starlette(lifespan=lifespan)


def in_raw_lifespan():  # no framework: the exit comes before any lifespan answer
    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            await receive()
            _check()
            await send({"type": "lifespan.startup.complete"})
            await receive()
            await send({"type": "lifespan.shutdown.complete"})

    return app


def in_factory():
    _check()
    return Starlette()


@pytest.fixture(params=[in_lifespan, in_raw_lifespan, in_factory])
def hardening_app_factory(request):
    return request.param


@pytest.fixture
def hardening_prod_env():
    return {"JWT_SECRET_KEY": "p" * 48}
"""

TESTS = """
def test_refused(prod_config):
    error = prod_config.assert_rejects(JWT_SECRET_KEY="short-secret-123")
    print("REFUSAL:", error)


def test_audit(prod_config):
    prod_config.audit().assert_ok()
"""


def test_an_app_that_logs_and_exits_is_refused_naming_the_variable(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_exits=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio", "-s"
    )
    result.assert_outcomes(passed=6)
    said = "(after logging: Configuration error: JWT_SECRET_KEY should be at least 32 characters)"
    refusals = [line.partition("REFUSAL: ")[2] for line in result.outlines if "REFUSAL: " in line]
    assert len(refusals) == 3
    for where in ("in its startup", "in its startup", "while it was built"):
        assert any(f"the app called sys.exit(1) {where} {said}" in r for r in refusals), refusals
    assert "BaseExceptionGroup" not in result.stdout.str()
