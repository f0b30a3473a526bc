"""Idempotency keys and Shopify delivery ids are kept for their windows, then pruned.

Time moves with ``clock.advance`` (the app's clock is ``datetime.now``): no real waiting. Every
test runs on SQLite and PostgreSQL (``hardening_database_url``).
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import httpx
from fastapi.testclient import TestClient

from pytest_hardening import Clock, FaultInjector
from reference_app.api import shopify_signature
from reference_app.db import IDEMPOTENCY_KEY_RETENTION, WEBHOOK_DELIVERY_RETENTION

from .conftest import WEBHOOK_SECRET, new_call, stored_rows

ORDERS_CREATE = "/api/webhooks/shopify/orders-create"
SECOND = dt.timedelta(seconds=1)


def _post(client: TestClient, key: str) -> httpx.Response:
    return client.post("/api/calls", json=new_call(), headers={"Idempotency-Key": key})


def _order(**fields: Any) -> bytes:
    order = {
        "id": 820982911946154508,
        "name": "#9999",
        "total_price": "250.00",
        "currency": "INR",
        "customer": {"first_name": "Ravi", "phone": "+919812345678"},
        "order_status_url": "https://acme.myshopify.com/548380009/orders/b1946ac9/authenticate",
    }
    return json.dumps(order | fields).encode()


def _deliver(client: TestClient, body: bytes, delivery: str) -> Any:
    headers = {
        "X-Shopify-Hmac-Sha256": shopify_signature(WEBHOOK_SECRET, body),
        "X-Shopify-Webhook-Id": delivery,
        "Content-Type": "application/json",
    }
    response = client.post(ORDERS_CREATE, content=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["result"]


def test_an_idempotency_key_answers_its_retries_for_its_window_then_names_a_new_request(
    hardened_client: TestClient, faults: FaultInjector, clock: Clock
) -> None:
    first = _post(hardened_client, "order-5521")
    clock.advance((IDEMPOTENCY_KEY_RETENTION - SECOND).total_seconds())
    retried = _post(hardened_client, "order-5521")
    assert retried.headers.get("idempotent-replayed") == "true"
    assert retried.json()["id"] == first.json()["id"]
    assert len(faults.calls("exotel")) == 1

    clock.advance(2.0)
    later = _post(hardened_client, "order-5521")
    assert later.status_code == 201
    assert "idempotent-replayed" not in later.headers
    assert later.json()["id"] != first.json()["id"]
    assert len(faults.calls("exotel")) == 2


def test_a_delivery_id_is_a_duplicate_for_its_window_then_new(
    hardened_client: TestClient, clock: Clock
) -> None:
    assert _deliver(hardened_client, _order(), "d-1") == "received"
    clock.advance((WEBHOOK_DELIVERY_RETENTION - SECOND).total_seconds())
    assert _deliver(hardened_client, _order(), "d-1") == "duplicate"
    clock.advance(2.0)
    assert _deliver(hardened_client, _order(), "d-1") == "received"


def test_shopifys_retry_window_is_inside_the_delivery_window() -> None:
    assert dt.timedelta(hours=48) < WEBHOOK_DELIVERY_RETENTION


def test_an_order_signed_before_the_delivery_window_is_refused_as_a_replay(
    hardened_client: TestClient, faults: FaultInjector, clock: Clock
) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    old = (now - WEBHOOK_DELIVERY_RETENTION - SECOND).isoformat()
    assert _deliver(hardened_client, _order(created_at=old, name="#6666"), "d-old") == "expired"
    recent = (now - dt.timedelta(hours=47)).isoformat()  # a retry near the end of Shopify's
    assert _deliver(hardened_client, _order(created_at=recent), "d-new") == "received"
    faults.fail("shopify", 503)
    faults.fail("openai", 503)
    call = hardened_client.post("/api/calls", json=new_call(order_id="820982911946154508"))
    assert "#6666" not in call.json()["script"]


def test_expired_keys_and_delivery_ids_are_deleted_by_later_writes(
    hardened_client: TestClient, hardening_database_url: str, clock: Clock
) -> None:
    _post(hardened_client, "old-key")
    _deliver(hardened_client, _order(), "old-delivery")
    clock.advance((WEBHOOK_DELIVERY_RETENTION + SECOND).total_seconds())

    _post(hardened_client, f"new-key-{uuid.uuid4()}")

    keys = [
        row[0] for row in stored_rows(hardening_database_url, "SELECT key FROM idempotency_keys")
    ]
    assert len(keys) == 1
    assert keys[0].startswith("new-key-")
    assert stored_rows(hardening_database_url, "SELECT id FROM webhook_deliveries") == []
    # The calls themselves are kept: only the keys naming them expire.
    assert len(stored_rows(hardening_database_url, "SELECT id FROM calls")) == 2


def test_keys_inside_their_window_are_kept_by_a_prune(
    hardened_client: TestClient, hardening_database_url: str, clock: Clock
) -> None:
    _post(hardened_client, "kept")
    _deliver(hardened_client, _order(), "kept-delivery")
    clock.advance((IDEMPOTENCY_KEY_RETENTION - SECOND).total_seconds())
    _post(hardened_client, "new")  # a prune is due (the reset forgot the last one)
    keys = {
        row[0] for row in stored_rows(hardening_database_url, "SELECT key FROM idempotency_keys")
    }
    assert keys == {"kept", "new"}
    assert stored_rows(hardening_database_url, "SELECT id FROM webhook_deliveries") == [
        ("kept-delivery",)
    ]
