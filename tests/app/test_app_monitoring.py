"""Monitoring routes: health states, APM numbers after known traffic, admin-only reset."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from pytest_hardening import ApmView, BreakerInspector, Clock, FaultInjector
from reference_app.fakes import database_outage

from .conftest import ADMIN_TOKEN, new_call

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def test_health_is_healthy_with_details_in_development(client: TestClient) -> None:
    client.post("/api/calls", json=new_call())

    response = client.get("/api/monitoring/health")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "healthy"
    assert body["mode"] == "development"
    assert body["database"] == {"ok": True}
    assert set(body["circuit_breakers"].values()) == {"CLOSED"}
    assert body["apm"]["requests"]["count"] == 1
    assert body["apm"]["externals"]["exotel"]["count"] == 1
    assert body["apm"]["database"]["count"] >= 3  # insert, update, this health check's ping
    assert body["slowest_endpoints"][0]["endpoint"] == "POST /api/calls"


def test_health_is_degraded_when_any_breaker_is_not_closed(
    hardened_client: TestClient, breakers: BreakerInspector
) -> None:
    breakers.force_open("openai")

    body = hardened_client.get("/api/monitoring/health").json()

    assert body["status"] == "degraded"
    assert body["circuit_breakers"]["openai"] == "OPEN"


def test_health_is_unhealthy_when_the_database_is_down(
    hardened_app: FastAPI, hardened_client: TestClient, breakers: BreakerInspector
) -> None:
    with database_outage(hardened_app.state.db.engine):
        response = hardened_client.get("/api/monitoring/health")
    assert response.status_code == 503
    assert response.json()["status"] == "unhealthy"
    assert response.json()["database"] == {"ok": False}

    breakers.force_open("database")
    assert hardened_client.get("/api/monitoring/health").json()["status"] == "unhealthy"


def test_apm_numbers_after_known_traffic(
    hardened_client: TestClient, faults: FaultInjector, apm: ApmView
) -> None:
    client = hardened_client  # apm: the app's registry, reset before the test
    for _ in range(3):
        call = client.post("/api/calls", json=new_call()).json()
    client.get(f"/api/calls/{call['id']}")
    client.get("/api/calls/missing")
    faults.fail("exotel", 503)
    client.post("/api/calls", json=new_call())

    assert (apm.endpoint("POST /api/calls").count, apm.endpoint("POST /api/calls").errors) == (4, 0)
    assert apm.endpoint("POST /api/calls").p95 > 0
    assert (apm.external("exotel").count, apm.external("exotel").errors) == (4, 1)
    # The same numbers through the monitoring route.
    metrics = client.get("/api/monitoring/metrics").json()
    endpoints = metrics["endpoints"]
    assert endpoints["POST /api/calls"]["count"] == 4
    assert endpoints["POST /api/calls"]["errors"] == 0  # 202 is not an error
    assert endpoints["GET /api/calls/{call_id}"]["count"] == 2  # by template, not raw path
    assert metrics["externals"]["exotel"]["count"] == 4
    assert metrics["externals"]["exotel"]["errors"] == 1
    assert metrics["externals"]["openai"]["count"] == 4
    assert metrics["database"]["operations"]["insert_call"]["count"] == 4
    assert metrics["database"]["operations"]["update_call"]["count"] == 4
    assert metrics["database"]["operations"]["get_call"]["count"] == 1  # "missing": no query


def test_circuit_breakers_system_and_prometheus(app: FastAPI, client: TestClient) -> None:
    app.state.breakers["exotel"].force_open()

    breakers = client.get("/api/monitoring/circuit-breakers").json()["circuit_breakers"]
    assert breakers["exotel"]["state"] == "OPEN"
    assert breakers["exotel"]["next_probe_in"] == 60.0
    system = client.get("/api/monitoring/system").json()
    assert system["rss_bytes"] > 0
    assert 0 <= system["memory_percent"] <= 100
    assert 0 < system["process_memory_percent"] <= 100
    assert system["memory_limit_source"] in {"cgroup v2", "cgroup v1", "system"}
    assert system["cpu_user_seconds"] > 0
    client.post("/api/calls", json=new_call())
    prometheus = client.get("/api/monitoring/prometheus")
    assert prometheus.headers["content-type"].startswith("text/plain")
    assert 'route="/api/calls"' in prometheus.text


def test_reset_is_admin_only(app: FastAPI, client: TestClient) -> None:
    client.post("/api/calls", json=new_call())

    missing = client.post("/api/monitoring/reset", headers={"Authorization": ""})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    wrong = client.post("/api/monitoring/reset", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    assert app.state.apm.endpoint("POST /api/calls").count == 1  # nothing was reset

    assert client.post("/api/monitoring/reset", headers=ADMIN).status_code == 200
    assert app.state.apm.endpoint("POST /api/calls").count == 0


def test_health_has_an_iso_timestamp_and_each_breakers_failure_rate(
    hardened_client: TestClient, faults: FaultInjector, clock: Clock
) -> None:
    frozen = dt.datetime.now(dt.timezone.utc)  # the clock holds time still
    hardened_client.post("/api/calls", json=new_call())  # one Exotel success
    faults.fail("exotel", 503)
    hardened_client.post("/api/calls", json=new_call())  # one Exotel failure: 50 %

    body = hardened_client.get("/api/monitoring/health").json()

    assert body["timestamp"] == frozen.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert body["timestamp"].endswith("Z")
    assert body["breakers"]["exotel"] == {"state": "CLOSED", "failure_rate": 0.5}
    assert body["breakers"]["database"] == {"state": "CLOSED", "failure_rate": 0.0}
    assert set(body["breakers"]) == set(body["circuit_breakers"])


def test_production_bare_health_still_has_its_timestamp(
    build: Any, prod_env: dict[str, str]
) -> None:
    with TestClient(build(prod_env)) as client:
        body = client.get("/api/monitoring/health").json()
    assert set(body) == {"status", "timestamp"}
    parsed = dt.datetime.fromisoformat(body["timestamp"].replace("Z", "+00:00"))
    assert parsed.tzinfo is not None


def prometheus_samples(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = client.get("/api/monitoring/prometheus", headers=ADMIN).text
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_prometheus_has_each_breakers_state_and_counts_transitions(
    hardened_client: TestClient, breakers: BreakerInspector, clock: Clock
) -> None:
    breakers.force_open("openai")
    clock.advance(61)
    breakers.state("openai")  # OPEN → HALF_OPEN on read

    samples = prometheus_samples(hardened_client)

    def state(name: str, value: str) -> float:
        return samples[("circuit_breaker_state", frozenset({("breaker", name), ("state", value)}))]

    assert [state("openai", s) for s in ("CLOSED", "OPEN", "HALF_OPEN")] == [0.0, 0.0, 1.0]
    assert [state("exotel", s) for s in ("CLOSED", "OPEN", "HALF_OPEN")] == [1.0, 0.0, 0.0]
    transitions = {
        (dict(labels)["breaker"], dict(labels)["from_state"], dict(labels)["to_state"]): value
        for (name, labels), value in samples.items()
        if name == "circuit_breaker_transitions_total"
    }
    assert transitions == {("openai", "CLOSED", "OPEN"): 1.0, ("openai", "OPEN", "HALF_OPEN"): 1.0}
    # Bounded: one series per breaker and state, whatever the traffic.
    states = [k for k in samples if k[0] == "circuit_breaker_state"]
    assert len(states) == 3 * len(breakers.names)
