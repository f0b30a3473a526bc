"""The `apm` fixture over prometheus-fastapi-instrumentator reads the test's traffic whatever
ran before: an ordinary test that built and called the app without the fixtures registered the
instrumentator's metrics first, outside any harness. Names held by a collector still in use
(an app alive, a metric made at import) stay with it, and a zero count then says why."""

from __future__ import annotations

import pytest

FAST = (
    *("-p", "no:hypothesispytest", "-p", "no:randomly", "-p", "no:cacheprovider"),
    *("-o", "asyncio_default_fixture_loop_scope=function"),
)

APP = """
import pytest
from fastapi import FastAPI
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.testclient import TestClient


def create_app():
    app = FastAPI()

    @app.get("/ping")
    async def ping():
        return {"ok": True}

    # Registered at the first request, in the default registry (a namespace of this test's own).
    Instrumentator().instrument(app, metric_namespace="{namespace}")
    return app


@pytest.fixture
def hardening_app_factory():
    return create_app
"""


def test_a_plain_test_that_built_the_app_first_leaves_apm_working(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        APP.replace("{namespace}", "plain_first")
        + """

def test_1_plain_build_and_call():
    with TestClient(create_app()) as client:  # no hardening fixture: no harness
        assert client.get("/ping").status_code == 200


def test_2_hardened_apm(hardened_client, apm):
    for _ in range(2):
        assert hardened_client.get("/ping").status_code == 200
    assert apm.endpoint("GET /ping").count == 2
"""
    )
    pytester.runpytest(*FAST).assert_outcomes(passed=2)


def test_metrics_of_an_app_still_alive_are_left_to_it_and_a_zero_says_why(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        APP.replace("{namespace}", "kept_alive")
        + """
from prometheus_client import REGISTRY

KEPT = TestClient(create_app())  # built outside the fixtures, used by plain tests all along


def _pings():
    labels = {"handler": "/ping", "method": "GET", "status": "2xx"}
    return REGISTRY.get_sample_value("kept_alive_http_requests_total", labels) or 0


def test_1_plain_call():
    assert KEPT.get("/ping").status_code == 200


def test_2_hardened_apm_says_why_it_counts_nothing(hardened_client, apm):
    assert hardened_client.get("/ping").status_code == 200
    stats = apm.endpoint("GET /ping")
    assert stats.count == 0
    assert stats.note.startswith("not registered for this app: kept_alive_http_requests, ")
    assert "built without them, alive" in repr(stats)


def test_3_the_live_app_still_records_in_the_registry():
    before = _pings()
    assert KEPT.get("/ping").status_code == 200
    assert _pings() == before + 1
"""
    )
    pytester.runpytest(*FAST).assert_outcomes(passed=3)


def test_a_route_with_no_series_at_all_is_zero_with_the_routes_seen(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        APP.replace("{namespace}", "typo")
        + """

def test_typo(hardened_client, apm):
    assert hardened_client.get("/ping").status_code == 200
    typo = apm.endpoint("GET /pingg")
    assert typo.count == 0  # zero, as for a route never called: a test may assert that
    assert typo.note == "no series for GET /pingg (a typo?); seen: GET /ping"
    assert apm.endpoint("GET /ping").note == ""
"""
    )
    pytester.runpytest(*FAST).assert_outcomes(passed=1)
