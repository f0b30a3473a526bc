"""POST/GET /api/calls: the call flow and its degraded paths, through the HTTP API."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi.testclient import TestClient

from pytest_hardening import ApmView, Clock, FaultInjector, SentryCapture
from reference_app.testing import DEV_ENV

from .conftest import new_call


@pytest.fixture
def hardening_dev_env(hardening_dev_env: dict[str, str]) -> dict[str, str]:
    # Every request traced: these tests read what Sentry's transactions carry.
    return {**hardening_dev_env, "SENTRY_TRACES_SAMPLE_RATE": "1.0"}


def test_healthy_call_is_initiated_and_retrievable(
    client: TestClient, faults: FaultInjector
) -> None:
    response = client.post("/api/calls", json=new_call())

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["status"] == "initiated"
    assert created["exotel_call_sid"]
    assert created["phone"] == "+91******3210"  # masked, never the full number
    stored = client.get(f"/api/calls/{created['id']}").json()
    assert stored["status"] == "initiated"
    assert stored["order_id"] == "5521"
    assert stored["exotel_call_sid"] == created["exotel_call_sid"]
    assert stored["script"].startswith("Namaste!")  # the OpenAI fake's completion


def test_exotel_request_has_the_documented_shape(client: TestClient, faults: FaultInjector) -> None:
    client.post("/api/calls", json=new_call())

    request = faults.assert_called("exotel", times=1)[0].request
    assert request.method == "POST"
    assert str(request.url) == "https://api.exotel.com/v1/Accounts/acme1/Calls/connect.json"
    user, password = DEV_ENV["EXOTEL_API_KEY"], DEV_ENV["EXOTEL_API_TOKEN"]
    credentials = base64.b64encode(f"{user}:{password}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {credentials}"
    form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
    assert form["From"] == "+919876543210"
    assert form["CallerId"] == "08047112233"
    callback = httpx.URL(form["StatusCallback"])
    assert str(callback.copy_with(query=None)) == (
        "https://hooks.example.com/api/webhooks/exotel/status-callback"
    )
    assert set(callback.params) == {"call_id", "exp", "sig"}  # signed: see test_app_webhooks


def test_openai_and_shopify_requests_have_the_documented_shape(
    client: TestClient, faults: FaultInjector
) -> None:
    client.post("/api/calls", json=new_call())

    shopify = faults.assert_called("shopify", times=1)[0].request
    assert str(shopify.url) == "https://acme.myshopify.com/admin/api/2025-10/graphql.json"
    assert shopify.headers["x-shopify-access-token"] == DEV_ENV["SHOPIFY_ACCESS_TOKEN"]
    assert b"gid://shopify/Order/5521" in shopify.content
    openai = faults.assert_called("openai", times=1)[0].request
    assert str(openai.url) == "https://api.openai.com/v1/chat/completions"
    assert openai.headers["authorization"] == f"Bearer {DEV_ENV['OPENAI_API_KEY']}"
    assert b"+919876543210" not in openai.content  # the phone number never goes to OpenAI
    assert b"#5521" in openai.content  # order facts from Shopify do


def test_exotel_down_queues_the_call_with_202(
    hardened_client: TestClient, faults: FaultInjector
) -> None:
    faults.fail("exotel", 503)

    response = hardened_client.post("/api/calls", json=new_call())

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert hardened_client.get(f"/api/calls/{body['id']}").json()["status"] == "queued"


@pytest.mark.parametrize("fault", ["refuse", "timeout", "garbage", "rate_limit", "fail"])
def test_exotel_unreachable_or_rejecting_still_never_5xx(
    fault: str, hardened_client: TestClient, faults: FaultInjector
) -> None:
    inject = {
        "refuse": lambda: faults.refuse("exotel"),
        "timeout": lambda: faults.timeout("exotel", kind="read"),
        "garbage": lambda: faults.garbage("exotel"),
        "rate_limit": lambda: faults.rate_limit("exotel"),
        "fail": lambda: faults.fail("exotel", 400),  # rejected: the caller's fault
    }
    inject[fault]()

    response = hardened_client.post("/api/calls", json=new_call())

    assert response.status_code == 202, response.text
    assert hardened_client.get(f"/api/calls/{response.json()['id']}").json()["status"] == "queued"
    assert [c.outcome.split()[0] for c in faults.calls("exotel")] == [fault]  # it was injected


def test_openai_down_uses_the_template_script_with_order_facts(
    hardened_client: TestClient, faults: FaultInjector, clock: Clock
) -> None:
    faults.fail("openai", 500)

    body = hardened_client.post("/api/calls", json=new_call()).json()

    assert body["status"] == "initiated"
    assert body["script"].startswith("Hello Asha!")
    assert "#5521" in body["script"]
    assert "1499.00 INR" in body["script"]
    assert "cash on delivery" in body["script"]


def test_shopify_down_without_cache_still_calls_with_a_generic_script(
    hardened_client: TestClient, faults: FaultInjector, clock: Clock
) -> None:
    faults.fail("shopify", 502)
    faults.fail("openai", 503)

    body = hardened_client.post("/api/calls", json=new_call()).json()

    assert body["status"] == "initiated"
    assert body["script"].startswith("Hello! We are calling to confirm your recent order")


def test_shopify_down_uses_the_last_good_order_data(
    hardened_client: TestClient, faults: FaultInjector, clock: Clock
) -> None:
    hardened_client.post("/api/calls", json=new_call())  # caches order 5521
    faults.fail("shopify", 503)
    faults.fail("openai", 503)

    body = hardened_client.post("/api/calls", json=new_call()).json()

    assert "#5521" in body["script"]
    assert "Asha" in body["script"]


def test_invalid_input_is_422_without_echoing_values(client: TestClient) -> None:
    secret_phone = "+1-call-me-maybe-555"
    response = client.post(
        "/api/calls", json=new_call(phone=secret_phone, shop="evil.example.com", order_id="")
    )

    assert response.status_code == 422
    text = response.text
    assert secret_phone not in text
    assert "evil.example.com" not in text
    detail = response.json()["detail"]
    assert {tuple(e["loc"]) for e in detail} == {
        ("body", "phone"),
        ("body", "shop"),
        ("body", "order_id"),
    }
    assert all(set(e) == {"loc", "msg", "type"} for e in detail)


def test_non_e164_phone_numbers_are_rejected(client: TestClient) -> None:
    for phone in ("9876543210", "+0123456789", "+91 98765 43210", "+1234567890123456"):
        assert client.post("/api/calls", json=new_call(phone=phone)).status_code == 422, phone


def test_unknown_call_is_404(client: TestClient) -> None:
    assert client.get("/api/calls/00000000-0000-0000-0000-000000000000").status_code == 404


def test_malformed_call_ids_are_404_without_a_database_query(
    hardened_client: TestClient, apm: ApmView
) -> None:
    call = hardened_client.post("/api/calls", json=new_call()).json()
    queries = apm.db("get_call").count  # (background workers' own queries are not lookups)

    for odd in ("missing", "%00", "a" * 5000, "%ED%A0%80", call["id"] + "x"):
        assert hardened_client.get(f"/api/calls/{odd}").status_code == 404, odd[:20]
    assert apm.db("get_call").count == queries  # nothing reached the database (or its breaker)

    same = hardened_client.get(f"/api/calls/{call['id'].upper()}")  # any UUID spelling
    assert same.status_code == 200
    assert same.json()["id"] == call["id"]


def test_no_provider_is_sent_the_apps_trace_context(
    hardened_client: TestClient, faults: FaultInjector, sentry_events: SentryCapture
) -> None:
    """Sentry's ``sentry-trace`` and ``baggage`` headers carry the trace id, the environment,
    the release and the DSN's public key: nothing Exotel, OpenAI or Shopify should learn."""
    assert hardened_client.post("/api/calls", json=new_call()).status_code == 201

    assert sentry_events.transactions, "expected Sentry on and tracing (the development default)"
    for provider in ("exotel", "openai", "shopify"):
        request = faults.assert_called(provider, times=1)[0].request
        leaked = {"sentry-trace", "baggage", "traceparent"} & set(request.headers)
        assert not leaked, (
            f"{provider} was sent {sorted(leaked)} (headers: {sorted(request.headers)})"
        )
