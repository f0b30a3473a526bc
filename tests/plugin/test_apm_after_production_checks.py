"""An app made at import (``app_from_import``) with prometheus-fastapi-instrumentator set up at
its module's top: a production check run first (``prod_config``, ``@pytest.mark.production``)
imported a copy of the app aside, and that copy's metrics kept the names in the default
registry, so the development tests after it counted nothing ("held by collectors made outside
the fixtures"). Two causes: the session's first build imported prometheus_client, before which
nothing could note whose metrics they were, and production checks noted nothing at all."""

from __future__ import annotations

import pytest

APP = """
import os

from fastapi import FastAPI
from prometheus_fastapi_instrumentator import Instrumentator

DB_URL = os.environ.get("DB_URL", "")  # read at import, as a settings module is
app = FastAPI()


@app.get("/ping")
def ping():
    return {"ok": True}


Instrumentator().instrument(app).expose(app)
"""

CONFTEST = """
import pytest

from pytest_hardening import app_from_import

THE_APP = app_from_import("metered.main:app")


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_dev_env():
    return {"DB_URL": "sqlite:///dev.db"}


@pytest.fixture
def hardening_prod_env():
    return {"DB_URL": "postgresql://db.example.com/prod"}
"""

TESTS = """
import pytest


def test_a_prod_config(prod_config):
    prod_config.assert_accepts()


@pytest.mark.production
def test_a_production_mode(hardened_client):
    assert hardened_client.get("/ping").status_code == 200


def test_b_metrics_count(hardened_client, apm):
    assert hardened_client.get("/ping").status_code == 200
    assert apm.endpoint("GET /ping").count == 1
"""


@pytest.mark.parametrize("first", ["test_a_prod_config", "test_a_production_mode"])
def test_development_metrics_count_after_a_production_check(
    pytester: pytest.Pytester, first: str
) -> None:
    pytester.mkpydir("metered")
    pytester.path.joinpath("metered", "main.py").write_text(APP)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_order=TESTS)
    pytester.syspathinsert()
    # A process of its own: prometheus_client is first imported by the first build.
    result = pytester.runpytest_subprocess(
        *("-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"),
        f"test_order.py::{first}",
        "test_order.py::test_b_metrics_count",
    )
    result.assert_outcomes(passed=2)
