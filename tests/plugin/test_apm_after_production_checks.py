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


COUNTED = """
import os

from fastapi import FastAPI

from counted.metrics import REQUESTS

MODE = os.environ.get("MODE", "development")
app = FastAPI()


@app.get("/ping")
def ping():
    REQUESTS.labels("/ping").inc()
    return {"ok": True}


if MODE != "production":

    @app.get("/debug")
    def debug():
        return {}
"""

ROUTES_THEN_PRODUCTION = """
import pytest

from pytest_hardening import app_from_import

THE_APP = app_from_import("counted.main:app")


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_dev_env():
    return {"MODE": "development"}


@pytest.fixture
def hardening_prod_env():
    return {"MODE": "production"}


def test_route_audit(route_audit):
    route_audit.assert_absent_in_production("/debug")


@pytest.mark.production
def test_production_mode(hardened_client, apm):
    assert hardened_client.get("/debug").status_code == 404
    assert hardened_client.get("/ping").status_code == 200
    assert apm.sample("requests_total", route="/ping") == 1  # its own copy's counter
"""


@pytest.mark.parametrize("order", [(0, 1), (1, 0)], ids=["audit-first", "production-first"])
def test_a_production_build_beside_the_route_audits_builds(
    pytester: pytest.Pytester, order: tuple[int, int]
) -> None:
    # A module-level Counter: the route audit's development build registers the tests' copy,
    # and a @production test's copy of the app then clashed with it ("Duplicated timeseries"),
    # whichever ran first (a trial's app).
    pytester.mkpydir("counted")
    pytester.path.joinpath("counted", "metrics.py").write_text(
        'from prometheus_client import Counter\nREQUESTS = Counter("requests", "r", ["route"])\n'
    )
    pytester.path.joinpath("counted", "main.py").write_text(COUNTED)
    pytester.makepyfile(test_counted=ROUTES_THEN_PRODUCTION)
    pytester.syspathinsert()
    tests = ["test_counted.py::test_route_audit", "test_counted.py::test_production_mode"]
    result = pytester.runpytest_subprocess(
        *("-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"),
        *(tests[i] for i in order),
    )
    result.assert_outcomes(passed=2)
