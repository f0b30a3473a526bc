"""Fixture reference: what the app reports (``sentry_events``, ``apm``)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_hardening import ApmView, Clock, FaultInjector, SentryCapture

CALL = {"order_id": "5521", "shop": "acme.myshopify.com", "phone": "+919876543210"}


@pytest.fixture
def hardening_dev_env(hardening_dev_env: dict[str, str]) -> dict[str, str]:
    # Every request traced: these tests read what Sentry's transactions carry.
    return {**hardening_dev_env, "SENTRY_TRACES_SAMPLE_RATE": "1.0"}


def test_nothing_secret_reaches_sentry(
    hardened_client: Any, faults: FaultInjector, sentry_events: SentryCapture
) -> None:
    faults.fail("exotel", 500)
    response = hardened_client.post(
        "/api/calls?token=s3cr3t-query-token",
        json=CALL,
        headers={"X-Api-Key": "s3cr3t-api-key"},  # beside the merchant's own credentials
    )
    assert response.status_code == 202  # Exotel failed: queued, and reported to Sentry
    # Fails if any value appears in any envelope, and if nothing was captured at all.
    sentry_events.assert_no_secrets("s3cr3t-query-token", "s3cr3t-api-key", "+919876543210")


def test_apm_sees_the_traffic_and_the_slow_provider(
    hardened_client: Any, faults: FaultInjector, clock: Clock, apm: ApmView
) -> None:
    faults.latency("openai", 30.0)  # hung: both attempts time out, 3 s each
    assert hardened_client.post("/api/calls", json=CALL).status_code == 201  # template script
    assert apm.endpoint("POST /api/calls").count == 1
    openai = apm.external("openai")  # one logical call: both attempts and the back-off
    assert (openai.count, openai.errors) == (1, 1)
    assert openai.max >= 6.0
    assert ("slow_endpoint", "POST /api/calls") in {(a.kind, a.subject) for a in apm.alerts}
