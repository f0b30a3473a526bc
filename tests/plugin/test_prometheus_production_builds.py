"""An app that registers prometheus_client metrics at import, checked in production: every
production build is another copy of it, whose metrics met the development copy's names in the
one default registry ("Duplicated timeseries"). A refused build's, kept alive by what its
import left behind (a logging filter), made every later build of the app fail the same way,
the audit read accepted variants as refused, and route_audit failed even alone. A production
build's metrics now take their names only while it is built and checked."""

from __future__ import annotations

import sys

import prometheus_client
import pytest

CONFIG = """
import os

SECRET_KEY = os.environ.get("SECRET_KEY", "changethis")
if os.environ.get("APP_ENV") == "production" and SECRET_KEY == "changethis":
    raise RuntimeError("refusing to start: SECRET_KEY is weak")
"""

METRICS = """
from prometheus_client import Counter

REQUESTS = Counter("promcopy_requests_total", "requests")
"""

# A filter of the copy's, installed at import, outlives a refused build of it.
LOGS = """
import logging

logging.getLogger("promcopy").addFilter(lambda record: True)
"""

MAIN = """
from fastapi import FastAPI

from promcopy import config, logs, metrics

app = FastAPI()


@app.get("/ping")
def ping():
    metrics.REQUESTS.inc()
    return {"ok": True}
"""

FILES = {"__init__": "", "metrics": METRICS, "logs": LOGS, "config": CONFIG, "main": MAIN}

CONFTEST = """
import pytest

from pytest_hardening import app_from_import

THE_APP = app_from_import("promcopy.main:app")


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_prod_env():
    return {
        "APP_ENV": "production",
        "SECRET_KEY": "a-long-random-secret",
        "PUBLIC_URL": "https://a.example",
    }
"""

TESTS = """
def test_1_a_weak_secret_is_refused(prod_config):
    assert "SECRET_KEY" in str(prod_config.assert_rejects(SECRET_KEY="changethis"))


def test_2_the_known_good_env_after_it(prod_config):
    prod_config.assert_accepts()


def test_3_route_audit(route_audit):
    assert route_audit.dev_only() == set()


def test_4_development_after_production_builds(hardened_client):
    assert hardened_client.get("/ping").json() == {"ok": True}


def test_5_the_audit_sees_what_the_app_accepts(prod_config):
    accepted = {m.variable for m in prod_config.audit(optional=["APP_ENV"]).accepted}
    assert "PUBLIC_URL" in accepted  # read by nothing: each of its variants boots
"""


def _plain_value_error(duplicates: set[str]) -> ValueError:
    # As prometheus_client before DuplicateTimeseries raised it (0.22: a trial's app).
    return ValueError(f"Duplicated timeseries in CollectorRegistry: {duplicates}")


@pytest.mark.parametrize("release", ["current", "plain ValueError"])
def test_production_builds_of_an_app_with_metrics_registered_at_import(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, release: str
) -> None:
    if release != "current":
        monkeypatch.setattr(prometheus_client.registry, "DuplicateTimeseries", _plain_value_error)
    package = pytester.mkpydir("promcopy")
    for name, text in FILES.items():
        (package / f"{name}.py").write_text(text)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_promcopy=TESTS)
    monkeypatch.syspath_prepend(str(pytester.path))
    registry = prometheus_client.REGISTRY
    try:
        result = pytester.runpytest_inprocess(
            "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio", "-q"
        )
    finally:
        for name in [n for n in sys.modules if n.partition(".")[0] == "promcopy"]:
            del sys.modules[name]
        held = registry._names_to_collectors.get("promcopy_requests_total")
        if held is not None:
            registry.unregister(held)
    result.assert_outcomes(passed=5)
