"""What the audits found reaches the summary and the JSON report (the CI artifact), whichever
audit found it: a route still served in production, a known-good build that is unsafe by
itself. Both said "audit findings: 0" (a trial's)."""

from __future__ import annotations

import json

import pytest

CONFTEST = """
import os

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import JSONResponse
from starlette.routing import Route


def create_app():
    routes = [Route("/docs", lambda request: JSONResponse({}))]  # served in every mode
    cors = Middleware(CORSMiddleware, allow_origins=["*"], allow_credentials=True)
    return Starlette(routes=routes, middleware=[cors])


@pytest.fixture
def hardening_app_factory():
    return create_app

@pytest.fixture
def hardening_prod_env():
    return {"APP_ENV": "production"}
"""

TESTS = """
import pytest


@pytest.mark.xfail(raises=AssertionError, strict=True)
def test_docs_gone(route_audit):
    route_audit.assert_absent_in_production("/docs")


@pytest.mark.xfail(raises=AssertionError, strict=True)
def test_audit(prod_config):
    prod_config.audit()
"""


def test_failed_audits_are_counted_and_reported(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_audits=TESTS)
    result = pytester.runpytest_inprocess(
        "-p",
        "pytest_hardening",
        "-p",
        "no:randomly",
        "-p",
        "no:asyncio",
        "--hardening-report=report.json",
    )
    result.assert_outcomes(xfailed=2)
    result.stdout.fnmatch_lines(["*audit findings: 2*"])
    tests = json.loads((pytester.path / "report.json").read_text())["tests"]
    findings = {t["nodeid"].rpartition("::")[2]: t["audit_findings"] for t in tests}
    assert findings["test_docs_gone"] == ["'/docs' is still reachable in production"]
    [unsafe] = findings["test_audit"]
    assert unsafe.startswith("unsafe known-good build: the production build with the known-good")
    assert "any origin" in unsafe
