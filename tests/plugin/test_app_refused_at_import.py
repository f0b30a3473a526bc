"""An app whose import is refused (a store it connects to at import, which the network guard
refuses) fails every test with that refusal, not the first only: the half of the package the
refused import got through is taken out again (a trial's app then failed every later test with
prometheus_client's "Duplicated timeseries", from its metrics module imported twice)."""

from __future__ import annotations

import pytest

METRICS = """
from prometheus_client import Counter

REQUESTS = Counter("refused_at_import_requests_total", "requests")
"""

MAIN = """
import os

from fastapi import FastAPI

from refusedpkg.metrics import REQUESTS

if os.environ.get("STORE_UP") != "1":
    raise ConnectionRefusedError(111, "Connection refused: the store, at import")

app = FastAPI()
"""

CONFTEST = """
import pytest

from pytest_hardening import app_from_import

THE_APP = app_from_import("refusedpkg.main:app")


@pytest.fixture
def hardening_app_factory():
    return THE_APP
"""

TESTS = """
import sys


def test_one(hardened_client):
    pass


def test_two(hardened_client):
    pass


def test_the_package_is_not_left_half_imported():
    assert not [name for name in sys.modules if name.startswith("refusedpkg")]
"""


def test_every_test_meets_the_refusal_and_no_half_package_stays(
    pytester: pytest.Pytester,
) -> None:
    package = pytester.mkpydir("refusedpkg")
    (package / "metrics.py").write_text(METRICS)
    (package / "main.py").write_text(MAIN)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_refused_at_import=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1, errors=2)
    output = result.stdout.str()
    assert output.count("Connection refused: the store, at import") >= 2
    assert "Duplicated timeseries" not in output
