"""Webhook fuzzing: malformed bodies, wrong or missing HMAC signatures and oversized payloads get a
clear 4xx, never a 5xx, and change nothing (no database row, no cached order).

One reference app (development mode, fake providers, a SQLite file) serves the whole module; the
database is read directly with ``sqlite3`` before and after each example, so "nothing stored" is
checked against what is really on disk, not against the app's own view of it.
"""

from __future__ import annotations

import base64
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import example, given
from hypothesis import strategies as st

from pytest_hardening import FaultInjector
from reference_app import create_app, fakes, load_settings
from reference_app.api._webhooks import MAX_WEBHOOK_BYTES, shopify_signature
from reference_app.testing import DEV_ENV, TEST_MERCHANT_API_KEY

from ._profiles import fuzz_settings

SECRET = "fuzz-shopify-webhook-secret-7Qe"
SHOP = "fuzz-shop.myshopify.com"
SHOPIFY = "/api/webhooks/shopify/orders-create"
EXOTEL = "/api/webhooks/exotel/status-callback"


@dataclass
class Harness:
    client: TestClient
    app: FastAPI
    db: Path
    sids: list[str]
    ids: list[str]

    def signed(self, call_id: str) -> dict[str, str]:
        """The query the app put in the StatusCallback URL it gave Exotel for ``call_id``."""
        params: dict[str, str] = self.app.state.services.calls.status_callback_params(call_id)
        return params

    def stored(self) -> list[tuple[Any, ...]]:
        """Every call row as it is on disk."""
        with sqlite3.connect(self.db) as conn:
            return conn.execute("SELECT * FROM calls ORDER BY id").fetchall()

    def cached_orders(self) -> int:
        return len(self.app.state.services.order_cache)


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    db = tmp_path_factory.mktemp("webhooks") / "calls.db"
    env = {
        **DEV_ENV,
        "ENABLE_SENTRY": "false",
        "DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "SHOPIFY_WEBHOOK_SECRET": SECRET,
    }
    app = create_app(
        load_settings(env),
        http_transport=httpx.MockTransport(FaultInjector(fakes.providers()).respond),
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        sids, ids = [], []
        for order in ("1001", "1002"):
            placed = client.post(
                "/api/calls",
                json={"order_id": order, "shop": SHOP, "phone": "+919876543210"},
                headers={"Authorization": f"Bearer {TEST_MERCHANT_API_KEY}"},
            )
            assert placed.status_code == 201, placed.text
            sids.append(placed.json()["exotel_call_sid"])
            ids.append(placed.json()["id"])
        yield Harness(client, app, db, sids, ids)
    app.state.sentry.close()


# -- strategies ------------------------------------------------------------------------------
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
order_like = st.fixed_dictionaries(
    {},
    optional={
        "id": json_values,
        "name": json_values,
        "customer": json_values,
        "phone": json_values,
        "total_price": json_values,
        "payment_gateway_names": json_values,
    },
)
callback_like = st.fixed_dictionaries(
    {},
    optional={
        "CallSid": st.text(max_size=40) | json_values,
        "Status": st.sampled_from(["completed", "failed", "busy", "COMPLETED", "bogus", ""])
        | json_values,
        "RecordingUrl": st.sampled_from(["https://recordings.exotel.com/x.mp3", "javascript:1"])
        | json_values,
    },
)


def _json(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode()


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


bodies = st.one_of(
    st.binary(max_size=512),
    st.text(max_size=200).map(str.encode),
    json_values.map(_json),
    order_like.map(_json),
    callback_like.map(_json),
    callback_like.map(lambda d: "&".join(f"{k}={v}" for k, v in d.items()).encode()),
    st.integers(2_000, 50_000).map(_nested),  # deep nesting: a parser's recursion limit
    st.integers(1, 4096).map(lambda extra: b"x" * (MAX_WEBHOOK_BYTES + extra)),  # oversized
    st.integers(1, 64).map(
        lambda extra: _json({"id": 1, "note": "y" * (MAX_WEBHOOK_BYTES + extra)})
    ),
)
content_types = st.sampled_from(
    [
        None,
        "application/json",
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
        "text/plain",
        "multipart/form-data",
        "application/xml",
    ]
)
signatures = st.sampled_from(["missing", "empty", "random", "other-body", "wrong-secret", "valid"])


def _signature(kind: str, body: bytes, noise: bytes) -> str | None:
    if kind == "missing":
        return None
    if kind == "empty":
        return ""
    if kind == "random":
        return base64.b64encode(noise).decode()
    if kind == "other-body":
        return shopify_signature(SECRET, body + b" ")
    if kind == "wrong-secret":
        return shopify_signature(SECRET + "x", body)
    return shopify_signature(SECRET, body)


def _headers(content_type: str | None, **extra: str | None) -> dict[str, str]:
    headers = {k: v for k, v in extra.items() if v is not None}
    if content_type is not None:
        headers["content-type"] = content_type
    return headers


def _assert_clear_4xx(response: Any) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    detail = response.json().get("detail")
    assert detail, "a 4xx must say what was wrong"
    # Clear, short, and not an echo of what was sent.
    assert len(response.content) < 2048


# -- properties --------------------------------------------------------------------------------
@fuzz_settings()
@given(
    body=bodies,
    content_type=content_types,
    signature=signatures,
    noise=st.binary(min_size=32, max_size=32),
)
@example(body=_nested(5_000), content_type="application/json", signature="valid", noise=b"")
def test_shopify_webhook_rejects_cleanly_and_stores_nothing(
    harness: Harness, body: bytes, content_type: str | None, signature: str, noise: bytes
) -> None:
    rows, orders = harness.stored(), harness.cached_orders()
    sent = _signature(signature, body, noise)
    response = harness.client.post(
        SHOPIFY,
        content=body,
        headers=_headers(
            content_type,
            **{"X-Shopify-Hmac-Sha256": sent, "X-Shopify-Shop-Domain": SHOP},
        ),
    )
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert harness.stored() == rows
    if response.status_code == 200:
        # Only an authentic, well-formed order is accepted (and then it is cached).
        assert signature == "valid"
        assert len(body) <= MAX_WEBHOOK_BYTES
        assert isinstance(json.loads(body), dict)
        return
    _assert_clear_4xx(response)
    assert harness.cached_orders() == orders
    if len(body) > MAX_WEBHOOK_BYTES:
        assert response.status_code in (401, 413)
    elif signature != "valid":
        assert response.status_code == 401


callback_auth = st.sampled_from(
    ["missing", "no-sig", "no-call-id", "empty", "random", "other-call", "unknown-call", "valid"]
)


def _callback_query(harness: Harness, kind: str, noise: bytes) -> dict[str, str]:
    """The query string of a fuzzed callback: forged in every way but ``valid``.

    ``valid`` signs a call id we never stored (an authentic callback for an unknown call), so
    no example can legitimately change a stored call.
    """
    mine, other = harness.ids[0], harness.ids[1]
    if kind == "missing":
        return {}
    if kind == "no-sig":
        return {"call_id": mine}
    if kind == "no-call-id":
        return {"sig": harness.signed(mine)["sig"]}
    if kind == "empty":
        return {"call_id": mine, "sig": ""}
    if kind == "random":
        return {"call_id": mine, "sig": base64.urlsafe_b64encode(noise).decode().rstrip("=")}
    if kind == "other-call":
        return {"call_id": mine, "sig": harness.signed(other)["sig"]}
    if kind == "unknown-call":
        return {"call_id": "never-issued", "sig": harness.signed(mine)["sig"]}
    return harness.signed("never-issued")


@fuzz_settings()
@given(
    body=bodies,
    content_type=content_types,
    auth=callback_auth,
    noise=st.binary(min_size=32, max_size=32),
)
@example(body=_nested(5_000), content_type="application/json", auth="valid", noise=b"")
@example(
    body=b'{"CallSid": "x", "Status": "completed"}',
    content_type="application/json",
    auth="other-call",
    noise=b"",
)
def test_exotel_callback_rejects_cleanly_and_changes_nothing(
    harness: Harness, body: bytes, content_type: str | None, auth: str, noise: bytes
) -> None:
    rows = harness.stored()
    params = _callback_query(harness, auth, noise)
    response = harness.client.post(
        EXOTEL, params=params, content=body, headers=_headers(content_type)
    )
    assert response.status_code < 500, (response.status_code, response.text[:300])
    assert harness.stored() == rows, "a fuzzed callback changed a stored call"
    if auth != "valid":
        # Unauthenticated: refused before the body is even read, whatever it holds.
        assert response.status_code == 401, (auth, response.status_code, response.text[:300])
        assert response.json() == {"detail": "missing or invalid signature"}
        return
    if response.status_code == 200:
        # Authentic, well-formed callback for a call we never stored: acknowledged, ignored.
        assert response.json() == {"result": "ignored"}
    else:
        _assert_clear_4xx(response)
        if len(body) > MAX_WEBHOOK_BYTES:
            assert response.status_code == 413


# -- controls: the authentic paths still work ------------------------------------------------
def test_control_valid_shopify_webhook_is_accepted_and_cached(harness: Harness) -> None:
    body = _json({"id": 7001, "name": "#7001", "phone": "+919812345678", "total_price": "499.00"})
    before = harness.cached_orders()
    response = harness.client.post(
        SHOPIFY,
        content=body,
        headers={
            "content-type": "application/json",
            "X-Shopify-Hmac-Sha256": shopify_signature(SECRET, body),
            "X-Shopify-Shop-Domain": SHOP,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"result": "received"}
    assert harness.cached_orders() == before + 1


def test_control_valid_exotel_callback_updates_the_call(harness: Harness) -> None:
    sid = harness.sids[0]
    response = harness.client.post(
        EXOTEL, params=harness.signed(harness.ids[0]), data={"CallSid": sid, "Status": "busy"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"result": "updated", "status": "busy"}
    statuses = {row for row in harness.stored() if sid in row}
    assert statuses, "the call with that CallSid is stored"
    assert all("busy" in row for row in statuses)
