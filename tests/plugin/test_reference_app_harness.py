"""The harness against the reference app (fixtures from reference_app.testing)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from pytest_hardening import (
    ApmView,
    BreakerInspector,
    Clock,
    FaultInjector,
    ProdConfigChecker,
    RouteAuditor,
    SentryCapture,
)

OPTIONAL_IN_PRODUCTION = [
    "APP_ENV",
    "DATABASE_URL",
    "EXOTEL_BASE_URL",
    "FRONTEND_URL_ALT",
    "OPENAI_BASE_URL",
    "SENTRY_TRACES_SAMPLE_RATE",
    "SHUTDOWN_GRACE_SECONDS",
    "WASABI_ENDPOINT",
    "WASABI_REGION",
]
CALL = {"order_id": "5521", "shop": "acme.myshopify.com", "phone": "+919876543210"}


@pytest.fixture
def hardening_dev_env(hardening_dev_env: dict[str, str]) -> dict[str, str]:
    # Every request traced: these tests read what Sentry's transactions carry.
    return {**hardening_dev_env, "SENTRY_TRACES_SAMPLE_RATE": "1.0"}


def test_healthy_call_goes_through_exotel_and_is_stored(
    hardened_client: Any, faults: FaultInjector, apm: ApmView
) -> None:

    created = hardened_client.post("/api/calls", json=CALL)
    assert created.status_code == 201, created.text
    assert hardened_client.get(f"/api/calls/{created.json()['id']}").json()["status"] == "initiated"
    [call] = faults.calls("exotel")
    assert call.request.url.path.endswith("/Calls/connect.json")
    assert apm.endpoint("POST /api/calls").count == 1
    assert apm.external("exotel").count == 1


@pytest.mark.anyio
async def test_async_client_serves_from_the_loop_that_ran_lifespan(
    hardened_async_client: httpx.AsyncClient,
    faults: FaultInjector,
    clock: Clock,
    breakers: BreakerInspector,
) -> None:
    # The SQLAlchemy async engine and httpx clients were created in this test's loop.
    faults.refuse("exotel")
    for _ in range(5):
        response = await hardened_async_client.post("/api/calls", json=CALL)
        assert response.status_code == 202
    assert breakers.state("exotel") == "OPEN"
    faults.heal()
    clock.advance(61)
    assert (await hardened_async_client.post("/api/calls", json=CALL)).status_code == 201
    assert breakers.transitions("exotel")[:2] == [("CLOSED", "OPEN"), ("OPEN", "HALF_OPEN")]


def test_sentry_capture_runs_through_the_apps_scrubbing(
    hardened_client: Any, faults: FaultInjector, sentry_events: SentryCapture
) -> None:
    faults.fail("exotel", 500)
    hardened_client.post("/api/calls", json=CALL)
    assert sentry_events.envelopes  # the app reports (at least a transaction) in dev
    sentry_events.assert_no_secrets("exotel-token", "+919876543210")


def test_production_config_is_validated(prod_config: ProdConfigChecker) -> None:
    prod_config.assert_accepts()
    prod_config.assert_rejects(drop=["SHOPIFY_WEBHOOK_SECRET"])
    prod_config.assert_rejects(EXOTEL_BASE_URL="http://api.exotel.com")
    # Variables with safe defaults may be absent. APP_ENV is the mode switch itself: without
    # it the app boots in development mode, which the audit cannot judge.
    report = prod_config.audit(optional=OPTIONAL_IN_PRODUCTION)
    assert report.accepted == [], str(report)
    assert len(report.rejected) > 40
    assert report.leaks == []


def test_dev_only_routes_are_gone_in_production(route_audit: RouteAuditor) -> None:
    dev_only = route_audit.dev_only()
    assert ("GET", "/api/test/email-connection") in dev_only
    assert ("POST", "/api/test/send-otp") in dev_only
    route_audit.assert_absent_in_production("/api/test")


@pytest.mark.production
def test_production_marker(hardened_client: Any) -> None:
    assert hardened_client.get("/api/test/email-connection").status_code == 404
