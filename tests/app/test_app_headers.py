"""Request IDs, response headers for personal data, and no redirects built from the Host."""

from __future__ import annotations

import logging

import pytest
from fastapi.testclient import TestClient

from pytest_hardening import SentryCapture

from .conftest import new_call


@pytest.fixture
def hardening_dev_env(hardening_dev_env: dict[str, str]) -> dict[str, str]:
    # Every request traced: these tests read what Sentry's transactions carry.
    return {**hardening_dev_env, "SENTRY_TRACES_SAMPLE_RATE": "1.0"}


def test_a_well_formed_request_id_is_kept_and_returned(hardened_client: TestClient) -> None:
    sent = "req-7f3a9c2e-41b8"
    response = hardened_client.post("/api/calls", json=new_call(), headers={"X-Request-ID": sent})
    assert response.headers["x-request-id"] == sent


@pytest.mark.parametrize(
    "sent", [None, "", "short", "has space here", "x" * 129, "<script>alert(1)</script>"]
)
def test_a_missing_or_malformed_request_id_is_replaced(
    hardened_client: TestClient, sent: str | None
) -> None:
    headers = {} if sent is None else {"X-Request-ID": sent.encode().decode("latin-1")}
    response = hardened_client.get("/api/monitoring/health", headers=headers)
    generated = response.headers["x-request-id"]
    assert generated != sent
    assert len(generated) == 32
    assert generated.isalpha()  # never a digit run that could pass for an OTP or a phone
    again = hardened_client.get("/api/monitoring/health", headers=headers)
    assert again.headers["x-request-id"] != generated  # one per request


def test_every_response_carries_one_even_errors(hardened_client: TestClient) -> None:
    for response in (
        hardened_client.get("/no/such/route"),
        hardened_client.post("/api/calls", json={}, headers={"Authorization": ""}),
        hardened_client.post("/api/calls", content=b"x" * (2 * 1024 * 1024)),
    ):
        assert "x-request-id" in response.headers, response.status_code


def test_the_request_id_reaches_sentry_and_the_logs(
    hardened_client: TestClient, sentry_events: SentryCapture, caplog: pytest.LogCaptureFixture
) -> None:
    from reference_app.observability import RequestIdLogFilter

    caplog.handler.addFilter(RequestIdLogFilter())
    with caplog.at_level(logging.INFO):
        hardened_client.post(
            "/api/calls", json=new_call(), headers={"X-Request-ID": "trace-0001-abcd"}
        )
    transactions = [t for t in sentry_events.transactions if t.get("transaction") == "/api/calls"]
    assert transactions
    assert transactions[-1]["tags"]["request_id"] == "trace-0001-abcd"
    ids = {getattr(r, "request_id", None) for r in caplog.records if r.name.startswith("reference")}
    assert "trace-0001-abcd" in ids or not ids


def test_no_redirect_is_built_from_the_host_header(hardened_client: TestClient) -> None:
    response = hardened_client.get(
        "/api/calls/", headers={"Host": "evil.com"}, follow_redirects=False
    )
    assert response.status_code == 404
    assert "location" not in response.headers


def test_api_responses_are_not_cached_or_sniffed(hardened_client: TestClient) -> None:
    call_id = hardened_client.post("/api/calls", json=new_call()).json()["id"]
    response = hardened_client.get(f"/api/calls/{call_id}")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "strict-transport-security" not in response.headers  # development: plain http


@pytest.mark.production
def test_production_responses_demand_https(hardened_client: TestClient) -> None:
    response = hardened_client.get("/api/monitoring/health")
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["x-content-type-options"] == "nosniff"


JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyLTQyIiwiZW1haWwiOiJhQGIuY28ifQ.c2lnbmF0dXJlLXBhcnQ"


@pytest.mark.parametrize(
    "header",
    ["X-Goog-IAP-JWT-Assertion", "Cf-Access-Jwt-Assertion", "X-Amzn-Oidc-Data", "X-Forwarded-Id"],
)
def test_credential_shaped_values_never_reach_sentry_whatever_the_header(
    hardened_client: TestClient, sentry_events: SentryCapture, header: str
) -> None:
    principal = "eyJ1c2VySWQiOiJhYmMxMjMiLCJ1c2VyRGV0YWlscyI6Im93bmVyQGFjbWUuY29tIn0="
    hardened_client.get(
        "/api/monitoring/health",
        headers={
            header: JWT,
            "X-Ms-Client-Principal": principal,
            "X-Other": "sk-live-0123456789abcdef",
        },
    )
    captured = repr(sentry_events.events + sentry_events.transactions)
    assert sentry_events.transactions
    for secret in (JWT, JWT.split(".")[1], principal, "sk-live-0123456789abcdef"):
        assert secret not in captured


def test_unmatched_requests_are_named_by_a_fixed_label_not_their_path(
    hardened_client: TestClient, sentry_events: SentryCapture
) -> None:
    hardened_client.get("/api/verify/otp-482913/token-Zx81Qm")
    names = {t.get("transaction") for t in sentry_events.transactions}
    assert names == {"<unmatched>"}, names
    captured = repr(sentry_events.transactions)
    assert "482913" not in captured
    assert "Zx81Qm" not in captured
