"""The fixtures against the small weather app: faults, clock, breakers (pybreaker), Sentry, APM."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pytest_hardening import BreakerInspector, Clock, FaultInjector, SentryCapture


def test_healthy_provider_answers_through_the_app(
    hardened_client: Any, faults: FaultInjector
) -> None:
    response = hardened_client.get("/forecast/pune")
    assert response.status_code == 200
    assert response.json() == {"city": "pune", "forecast": {"temp_c": 21}}
    [call] = faults.calls("weather")
    assert call.request.url == "https://api.weather.example/v1/forecast/pune"
    assert call.outcome == "ok 200"


def test_outage_opens_breaker_and_clock_moves_it_to_half_open(
    hardened_client: Any, faults: FaultInjector, clock: Clock, breakers: BreakerInspector
) -> None:
    faults.fail("weather", 503)
    statuses = [hardened_client.get("/forecast/x").status_code for _ in range(4)]
    assert statuses == [502, 502, 503, 503]  # third failure trips; fourth fast-fails
    assert breakers.state("weather") == "OPEN"
    assert len(faults.calls("weather")) == 3
    faults.heal("weather")
    clock.advance(31)
    assert hardened_client.get("/forecast/x").status_code == 200
    assert breakers.state("weather") == "CLOSED"
    assert breakers.transitions("weather") == [
        ("CLOSED", "OPEN"),
        ("OPEN", "HALF_OPEN"),
        ("HALF_OPEN", "CLOSED"),
    ]


def test_times_limits_a_fault_then_provider_recovers(
    hardened_client: Any, faults: FaultInjector
) -> None:
    faults.refuse("weather", times=2)
    statuses = [hardened_client.get("/forecast/x").status_code for _ in range(3)]
    assert statuses == [502, 502, 200]
    assert [c.outcome for c in faults.calls("weather")] == [
        "refuse ConnectError",
        "refuse ConnectError",
        "ok 200",
    ]


def test_clock_moves_time_inside_sync_endpoints_run_in_worker_threads(
    hardened_client: Any, clock: Clock
) -> None:
    before = hardened_client.get("/time").json()
    assert before["monotonic"] == pytest.approx(clock.monotonic())
    clock.advance(3600)
    after = hardened_client.get("/time").json()
    assert after["monotonic"] - before["monotonic"] == pytest.approx(3600)
    assert after["time"] == pytest.approx(clock.now().timestamp())
    served = hardened_client.get("/async-time").json()
    assert served["monotonic"] == pytest.approx(after["monotonic"])


def test_virtual_latency_past_the_client_timeout_is_a_read_timeout(
    hardened_client: Any, faults: FaultInjector, clock: Clock
) -> None:
    start = clock.monotonic()
    faults.latency("weather", 1.5, times=1)
    assert hardened_client.get("/forecast/a").status_code == 200
    assert clock.monotonic() - start == pytest.approx(1.5)
    faults.latency("weather", 10)
    assert hardened_client.get("/forecast/a").status_code == 502
    assert clock.monotonic() - start == pytest.approx(3.5)  # advanced by the 2 s timeout only
    assert faults.calls("weather")[-1].outcome == "latency ReadTimeout"


def test_sync_endpoint_calls_are_intercepted_too(
    hardened_client: Any, faults: FaultInjector
) -> None:
    faults.sequence("weather", [500, "ok"])
    assert hardened_client.get("/sync-forecast/a").json() == {"city": "a", "status": 500}
    assert hardened_client.get("/sync-forecast/a").json() == {"city": "a", "status": 200}


def test_sentry_capture_sees_the_scrubbed_event(
    hardened_client: Any, sentry_events: SentryCapture
) -> None:
    assert hardened_client.get("/boom").status_code == 500
    event = sentry_events.assert_captured(RuntimeError)
    assert event["exception"]["values"][-1]["value"] == "<scrubbed>"
    sentry_events.assert_no_secrets("hunter2-secret")
    assert sentry_events.transactions  # traces_sample_rate=1.0 in the app


def test_an_unhandled_exception_is_one_sentry_event_each_though_the_harness_logs_it(
    hardened_client: Any, sentry_events: SentryCapture, caplog: pytest.LogCaptureFixture
) -> None:
    # The app's Sentry has its logging integration (the default): the harness's own record of
    # the 500 must not become an event of the app's, nor a breadcrumb.
    for _ in range(2):  # the second event would carry the first record as a breadcrumb
        assert hardened_client.get("/boom").status_code == 500
    assert caplog.text.count("Exception in ASGI application: GET /boom") == 2
    assert len(sentry_events.events) == 2, sentry_events.summary()
    crumbs = [c.get("logger") for c in sentry_events.breadcrumbs]
    assert "pytest_hardening.app" not in crumbs


def test_apm_view_starts_from_zero(hardened_client: Any, apm: Any, faults: FaultInjector) -> None:
    hardened_client.get("/forecast/a")
    faults.fail("weather")
    hardened_client.get("/forecast/a")
    stats = apm.endpoint("GET /forecast/{city}")
    assert (stats.count, stats.errors) == (2, 1)


@pytest.mark.anyio
async def test_async_client_runs_lifespan_in_the_test_loop(
    hardened_async_client: httpx.AsyncClient, faults: FaultInjector, clock: Clock
) -> None:
    response = await hardened_async_client.get("/forecast/goa")
    assert response.status_code == 200
    faults.timeout("weather")
    response = await hardened_async_client.get("/forecast/goa")
    assert response.status_code == 502
    before = (await hardened_async_client.get("/async-time")).json()["monotonic"]
    clock.advance(90)
    after = (await hardened_async_client.get("/async-time")).json()["monotonic"]
    assert after - before == pytest.approx(90)


@pytest.mark.production
def test_production_marker_builds_the_production_app(hardened_client: Any) -> None:
    assert hardened_client.get("/debug/env").status_code == 404


@pytest.fixture
def seen_lifespan(hardened_app: Any) -> list[str]:
    return [hardened_app.state.lifespan]


def test_app_alone_runs_its_lifespan(hardened_app: Any, breakers: BreakerInspector) -> None:
    assert hardened_app.state.lifespan == "running"
    assert breakers.names == ["weather"]


def test_the_client_runs_the_lifespan_before_fixtures_built_on_the_app(
    seen_lifespan: list[str], hardened_client: Any
) -> None:
    assert seen_lifespan == ["running"]  # started by the client, before the app was handed on
    # ... in the loop the client serves from: the lifespan's AsyncClient works there.
    assert hardened_client.get("/forecast/goa").status_code == 200


@pytest.fixture
def sentry_http_sends(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Envelopes that reached Sentry's real HTTP transport (must stay empty)."""
    import sentry_sdk.transport

    sent: list[object] = []
    monkeypatch.setattr(
        sentry_sdk.transport.HttpTransport, "capture_envelope", lambda self, e: sent.append(e)
    )
    return sent


def test_nothing_reaches_the_real_sentry_transport(
    sentry_http_sends: list[object], hardened_client: Any, sentry_events: SentryCapture
) -> None:
    hardened_client.get("/boom")
    hardened_client.get("/time")
    assert len(sentry_events.envelopes) >= 2
    assert sentry_http_sends == []


def test_route_audit_probes_do_not_reach_the_real_sentry_transport(
    sentry_http_sends: list[object], route_audit: Any
) -> None:
    route_audit.assert_absent_in_production("/debug")
    assert sentry_http_sends == []
