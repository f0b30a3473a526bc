"""Exotel status callbacks (recordings to Wasabi) and HMAC-verified Shopify order webhooks."""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pytest_hardening import BreakerInspector, Clock, FaultInjector
from reference_app._recordings import RECORDING_RETRY_SECONDS
from reference_app._status_callbacks import CALLBACK_SIGNATURE_SECONDS
from reference_app.api import shopify_signature
from reference_app.config import SERVICE_BREAKERS
from reference_app.observability import ApmRegistry
from reference_app.providers import ExotelClient, ExotelError

from .conftest import WEBHOOK_SECRET, new_call

CALLBACK = "/api/webhooks/exotel/status-callback"
ORDERS_CREATE = "/api/webhooks/shopify/orders-create"


def _placed(client: TestClient) -> dict[str, Any]:
    call: dict[str, Any] = client.post("/api/calls", json=new_call()).json()
    return call


def _sig(client: TestClient, call_id: str) -> dict[str, str]:
    """The signed query the app put in the StatusCallback URL it gave Exotel for ``call_id``."""
    params: dict[str, str] = client.app.state.services.calls.status_callback_params(call_id)  # type: ignore[attr-defined]
    return params


def _callback(client: TestClient, call: dict[str, Any], **kwargs: Any) -> httpx.Response:
    """POST a status callback for ``call``, signed as Exotel would send it back."""
    return client.post(CALLBACK, params=_sig(client, call["id"]), **kwargs)


def _called(faults: FaultInjector) -> dict[str, int]:
    """How many requests each provider received, for the providers that received any."""
    return {name: len(faults.calls(name)) for name in faults.providers if faults.calls(name)}


def _recording(sid: str) -> str:
    return f"https://api.exotel.com/v1/Accounts/acme1/Recordings/{sid}.mp3"


def test_form_status_callback_updates_the_call(client: TestClient) -> None:
    call = _placed(client)

    response = _callback(
        client, call, data={"CallSid": call["exotel_call_sid"], "Status": "ringing"}
    )

    assert response.status_code == 200
    assert client.get(f"/api/calls/{call['id']}").json()["status"] == "ringing"


def test_json_status_callback_archives_the_recording_in_wasabi(
    client: TestClient, faults: FaultInjector
) -> None:
    call = _placed(client)
    sid = call["exotel_call_sid"]

    response = _callback(
        client, call, json={"CallSid": sid, "Status": "completed", "RecordingUrl": _recording(sid)}
    )

    assert response.status_code == 200
    stored = client.get(f"/api/calls/{call['id']}").json()
    assert stored["status"] == "completed"
    assert stored["recording_available"] is True
    assert stored["recording_upload_pending"] is False
    put = faults.assert_called("wasabi", times=1)[0].request
    assert put.method == "PUT"
    assert str(put.url) == (
        f"https://s3.wasabisys.com/recordings/recordings/acme.myshopify.com/{call['id']}.mp3"
    )
    assert put.headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=wasabi-access/")
    assert put.headers["x-amz-content-sha256"] != "UNSIGNED-PAYLOAD"
    assert put.content.startswith(b"ID3")
    url = httpx.URL(stored["recording_download_url"])
    assert url.host == "s3.wasabisys.com"
    assert url.params["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    assert url.params["X-Amz-Expires"] == "3600"
    assert "wasabi-secret" not in str(url)


def test_wasabi_down_keeps_metadata_and_marks_the_upload_pending(
    hardened_client: TestClient, faults: FaultInjector
) -> None:
    call = _placed(hardened_client)
    sid = call["exotel_call_sid"]
    faults.fail("wasabi", 503)

    response = _callback(
        hardened_client,
        call,
        data={"CallSid": sid, "Status": "completed", "RecordingUrl": _recording(sid)},
    )

    assert response.status_code == 200
    stored = hardened_client.get(f"/api/calls/{call['id']}").json()
    assert stored["status"] == "completed"
    assert stored["recording_upload_pending"] is True
    assert stored["recording_available"] is False
    assert [c.outcome for c in faults.calls("wasabi")] == ["fail 503"]


def test_recordings_are_only_fetched_from_the_exotel_host(
    client: TestClient, faults: FaultInjector
) -> None:
    call = _placed(client)
    sid = call["exotel_call_sid"]

    _callback(
        client,
        call,
        data={"CallSid": sid, "Status": "completed", "RecordingUrl": "http://169.254.169.254/x"},
    )

    # Placing the call, and nothing else: no fetch from the metadata address.
    assert _called(faults) == {"shopify": 1, "openai": 1, "exotel": 1}
    assert faults.unregistered == []
    assert client.get(f"/api/calls/{call['id']}").json()["recording_upload_pending"] is True


def test_unknown_call_is_acknowledged_and_ignored(client: TestClient) -> None:
    # Authentic (signed) but for a call id we never stored: 200 so Exotel stops retrying.
    response = client.post(
        CALLBACK,
        params=_sig(client, "no-such-call"),
        data={"CallSid": "nope", "Status": "completed"},
    )
    assert response.status_code == 200
    assert response.json() == {"result": "ignored"}


def test_a_callsid_that_differs_from_the_stored_one_is_ignored(client: TestClient) -> None:
    call = _placed(client)
    before = client.get(f"/api/calls/{call['id']}").json()

    response = _callback(client, call, data={"CallSid": "other-exotel-call", "Status": "failed"})

    assert response.status_code == 200
    assert response.json() == {"result": "ignored"}
    assert client.get(f"/api/calls/{call['id']}").json() == before


def test_malformed_status_callbacks_are_4xx(client: TestClient) -> None:
    call = _placed(client)
    headers = {"content-type": "application/json"}
    assert _callback(client, call, content=b"{not json", headers=headers).status_code == 400
    assert _callback(client, call, json=["a"]).status_code == 400
    exploded = {"CallSid": "x", "Status": "exploded"}
    assert _callback(client, call, data=exploded).status_code == 422
    assert _callback(client, call, content=b"x" * 300_000).status_code == 413
    broken = {"content-type": "multipart/form-data; boundary=zzz"}
    assert _callback(client, call, content=b"--zzz\r\nbroken", headers=broken).status_code == 422


def _signed(
    body: bytes, secret: str = WEBHOOK_SECRET, *, delivery: str | None = None
) -> dict[str, str]:
    return {
        "X-Shopify-Hmac-Sha256": shopify_signature(secret, body),
        "X-Shopify-Shop-Domain": "acme.myshopify.com",
        "X-Shopify-Webhook-Id": delivery or str(uuid.uuid4()),
        "Content-Type": "application/json",
    }


ORDER = {
    "id": 820982911946154508,
    "name": "#9999",
    "total_price": "250.00",
    "currency": "INR",
    "payment_gateway_names": ["Cash on Delivery (COD)"],
    "customer": {"first_name": "Ravi", "phone": "+919812345678"},
    "order_status_url": "https://acme.myshopify.com/548380009/orders/b1946ac9/authenticate",
}


def test_shopify_webhook_with_valid_hmac_is_accepted_and_cached(
    hardened_client: TestClient,
    faults: FaultInjector,
    clock: Clock,  # OpenAI SDK back-off
) -> None:
    body = json.dumps(ORDER).encode()

    response = hardened_client.post(ORDERS_CREATE, content=body, headers=_signed(body))

    assert response.status_code == 200
    faults.fail("shopify", 503)
    faults.fail("openai", 503)
    call = hardened_client.post("/api/calls", json=new_call(order_id=str(ORDER["id"]))).json()
    assert "Ravi" in call["script"]
    assert "#9999" in call["script"]


def test_shopify_webhook_without_or_with_wrong_hmac_is_401(client: TestClient) -> None:
    body = json.dumps(ORDER).encode()
    headers = {"Content-Type": "application/json"}

    assert client.post(ORDERS_CREATE, content=body, headers=headers).status_code == 401
    wrong = _signed(body, secret="not-the-secret")
    assert client.post(ORDERS_CREATE, content=body, headers=wrong).status_code == 401
    tampered = _signed(body)
    assert client.post(ORDERS_CREATE, content=body + b" ", headers=tampered).status_code == 401


def test_shopify_webhook_with_valid_hmac_but_malformed_body_is_400(client: TestClient) -> None:
    for body in (b"{not json", b"[1, 2]", b'{"name": "no id"}'):
        response = client.post(ORDERS_CREATE, content=body, headers=_signed(body))
        assert response.status_code == 400, body


def test_pending_uploads_are_retried_once_wasabi_is_back(
    hardened_app: FastAPI, hardened_client: TestClient, faults: FaultInjector, clock: Clock
) -> None:
    client, calls = hardened_client, hardened_app.state.services.calls
    call = _placed(client)
    sid = call["exotel_call_sid"]
    faults.fail("wasabi", 503, times=1)  # then healthy again
    _callback(
        client, call, data={"CallSid": sid, "Status": "completed", "RecordingUrl": _recording(sid)}
    )
    assert client.get(f"/api/calls/{call['id']}").json()["recording_upload_pending"] is True
    # Backing off: not retried before its delay (a minute after the first failure).
    assert client.portal.call(calls.retry_pending_uploads) == 0  # type: ignore[union-attr]
    clock.advance(RECORDING_RETRY_SECONDS + 1)

    assert client.portal.call(calls.retry_pending_uploads) == 1  # type: ignore[union-attr]

    stored = client.get(f"/api/calls/{call['id']}").json()
    assert stored["recording_upload_pending"] is False
    assert stored["recording_available"] is True
    assert client.portal.call(calls.retry_pending_uploads) == 0  # type: ignore[union-attr]
    assert [c.outcome for c in faults.calls("wasabi")] == ["fail 503", "ok 200"]


def test_pending_uploads_wait_while_the_wasabi_breaker_is_open(
    hardened_app: FastAPI,
    hardened_client: TestClient,
    faults: FaultInjector,
    breakers: BreakerInspector,
) -> None:
    client = hardened_client
    call = _placed(client)
    sid = call["exotel_call_sid"]
    faults.fail("wasabi", 503)
    _callback(
        client, call, data={"CallSid": sid, "Status": "completed", "RecordingUrl": _recording(sid)}
    )
    breakers.force_open("wasabi")
    faults.heal("wasabi")
    providers = ("exotel", "openai", "wasabi", "shopify", "google")
    before = {p: len(faults.calls(p)) for p in providers}

    retry = hardened_app.state.services.calls.retry_pending_uploads
    assert client.portal.call(retry) == 0  # type: ignore[union-attr]
    assert {p: len(faults.calls(p)) for p in providers} == before  # nothing was contacted


def test_multipart_status_callback_is_understood(client: TestClient) -> None:
    call = _placed(client)
    fields = {"CallSid": (None, call["exotel_call_sid"]), "Status": (None, "busy")}

    response = _callback(client, call, files=fields)

    assert response.status_code == 200
    assert client.get(f"/api/calls/{call['id']}").json()["status"] == "busy"


def test_a_malformed_recording_url_is_refused_and_nothing_is_stored(
    client: TestClient, faults: FaultInjector
) -> None:
    call = _placed(client)
    sid = call["exotel_call_sid"]
    before = client.get(f"/api/calls/{call['id']}").json()

    malformed = (
        "http://[::1",
        "https://api.exotel.com/\x00.mp3",
        "https://api.exotel.com:99999/x.mp3",
        "javascript:1",
        "x" * 40,
        "https://api.exotel.com/" + "x" * 3000,
    )
    for bad in malformed:
        response = _callback(
            client, call, data={"CallSid": sid, "Status": "completed", "RecordingUrl": bad}
        )
        assert response.status_code == 400, (bad, response.status_code, response.text)
        assert response.json() == {"detail": "RecordingUrl is not a valid http(s) URL"}
    surrogate = b'{"CallSid": "%s", "Status": "completed", "RecordingUrl": "https://a/\\ud800"}'
    response = _callback(
        client,
        call,
        content=surrogate % sid.encode(),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 400, response.text

    assert client.get(f"/api/calls/{call['id']}").json() == before
    assert _called(faults) == {"shopify": 1, "openai": 1, "exotel": 1}


def test_odd_call_sids_are_422_without_touching_the_database(client: TestClient) -> None:
    apm = client.app.state.apm  # type: ignore[attr-defined]
    call = _placed(client)

    def call_rows_touched() -> int:
        # What a callback would do to the call's row (the re-dial worker's own rounds, which
        # run in the background, are not the callback's).
        return sum(apm.db(op).count for op in ("get_call", "update_call", "insert_call"))

    db_ops = call_rows_touched()
    for sid in ("a" * 65, "abc\x00def", "\u2028"):
        response = _callback(client, call, data={"CallSid": sid, "Status": "completed"})
        assert response.status_code == 422, (sid, response.text)
        assert sid not in response.text
    lone_surrogate = b'{"CallSid": "\\ud800", "Status": "completed"}'
    response = _callback(
        client, call, content=lone_surrogate, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert call_rows_touched() == db_ops, "a refused callback must not reach the database"


def test_a_stored_malformed_recording_url_stays_pending_instead_of_failing(
    client: TestClient, faults: FaultInjector
) -> None:
    # Rows written before RecordingUrl was validated: the retry worker must not crash on them.
    call = _placed(client)
    app: FastAPI = client.app  # type: ignore[assignment]
    services = app.state.services
    stored = client.portal.call(  # type: ignore[union-attr]
        lambda: services.repository.update(
            call["id"], recording_url="http://[::1", recording_upload_pending=True
        )
    )
    assert client.portal.call(services.calls.retry_pending_uploads) == 0  # type: ignore[union-attr]
    after = client.get(f"/api/calls/{call['id']}").json()
    assert after["recording_upload_pending"] is True
    assert stored.recording_url == "http://[::1"
    assert faults.calls("wasabi") == []


# -- authentication: Exotel does not sign callbacks, so the StatusCallback URL carries our HMAC --
def _unchanged_after(client: TestClient, call: dict[str, Any], **params: str) -> httpx.Response:
    before = client.get(f"/api/calls/{call['id']}").json()
    sid = call["exotel_call_sid"]
    response = client.post(
        CALLBACK,
        params=params,
        data={"CallSid": sid, "Status": "completed", "RecordingUrl": _recording(sid)},
    )
    assert client.get(f"/api/calls/{call['id']}").json() == before, "an unauthenticated write"
    return response


def test_a_callback_without_a_signature_is_401_and_changes_nothing(
    client: TestClient, faults: FaultInjector
) -> None:
    call = _placed(client)

    for params in ({}, {"call_id": call["id"]}, {"sig": _sig(client, call["id"])["sig"]}):
        response = _unchanged_after(client, call, **params)
        assert response.status_code == 401, (params, response.text)
        assert response.json() == {"detail": "missing or invalid signature"}
    assert faults.calls("wasabi") == []


def test_a_wrong_signature_or_one_for_another_call_is_401(client: TestClient) -> None:
    call, other = _placed(client), _placed(client)
    good = _sig(client, call["id"])["sig"]
    forged = {
        "empty": "",
        "tampered": ("A" if good[0] != "A" else "B") + good[1:],
        "truncated": good[:-2],
        "other call's": _sig(client, other["id"])["sig"],
        "non-ascii": "é" * len(good),
    }
    for kind, sig in forged.items():
        response = _unchanged_after(client, call, call_id=call["id"], sig=sig)
        assert response.status_code == 401, (kind, response.text)
        assert sig == "" or sig not in response.text  # echoes nothing
    # A valid pair for the other call cannot be pointed at this one's CallSid either.
    response = _unchanged_after(client, call, **_sig(client, other["id"]))
    assert response.status_code == 200
    assert response.json() == {"result": "ignored"}


def test_a_signed_callback_is_applied(client: TestClient) -> None:
    call = _placed(client)

    response = _callback(client, call, data={"CallSid": call["exotel_call_sid"], "Status": "busy"})

    assert response.status_code == 200
    assert response.json() == {"result": "updated", "status": "busy"}
    assert client.get(f"/api/calls/{call['id']}").json()["status"] == "busy"


def test_the_status_callback_given_to_exotel_is_signed_and_verifies(
    hardened_client: TestClient, faults: FaultInjector
) -> None:
    call = _placed(hardened_client)

    (sent,) = faults.calls("exotel")
    form = {k: v[0] for k, v in parse_qs(sent.request.content.decode()).items()}
    url = httpx.URL(form["StatusCallback"])
    assert (url.host, url.path) == ("hooks.example.com", CALLBACK)
    assert set(url.params) == {"call_id", "exp", "sig"}
    assert url.params["call_id"] == call["id"]
    # Exactly what Exotel will send back: it verifies and is applied.
    response = hardened_client.post(
        CALLBACK,
        params=dict(url.params),
        data={"CallSid": call["exotel_call_sid"], "Status": "ringing"},
    )
    assert response.status_code == 200, response.text
    assert hardened_client.get(f"/api/calls/{call['id']}").json()["status"] == "ringing"


def test_a_replayed_shopify_delivery_is_acknowledged_and_ignored(
    hardened_client: TestClient, faults: FaultInjector, clock: Clock
) -> None:
    first = json.dumps(ORDER).encode()
    headers = _signed(first, delivery="d-1")
    assert hardened_client.post(ORDERS_CREATE, content=first, headers=headers).json() == {
        "result": "received"
    }
    changed = json.dumps({**ORDER, "name": "#6666"}).encode()
    replay = _signed(changed, delivery="d-1")  # a new signed body under a used delivery id
    assert hardened_client.post(ORDERS_CREATE, content=changed, headers=replay).json() == {
        "result": "duplicate"
    }
    faults.fail("shopify", 503)
    faults.fail("openai", 503)
    call = hardened_client.post("/api/calls", json=new_call(order_id=str(ORDER["id"]))).json()
    assert "#9999" in call["script"]  # the first delivery's order, not the replay's


def test_a_delivery_without_its_id_is_400(client: TestClient) -> None:
    body = json.dumps(ORDER).encode()
    headers = {k: v for k, v in _signed(body).items() if k != "X-Shopify-Webhook-Id"}
    assert client.post(ORDERS_CREATE, content=body, headers=headers).status_code == 400


def test_the_shop_comes_from_the_signed_body_not_the_header(
    hardened_client: TestClient, faults: FaultInjector, clock: Clock
) -> None:
    body = json.dumps(ORDER).encode()  # signed for acme.myshopify.com
    headers = {**_signed(body), "X-Shopify-Shop-Domain": "a.myshopify.com"}
    assert hardened_client.post(ORDERS_CREATE, content=body, headers=headers).status_code == 200
    faults.fail("shopify", 503)
    faults.fail("openai", 503)
    other_shop = new_call(order_id=str(ORDER["id"]), shop="a.myshopify.com")
    assert "Ravi" not in hardened_client.post("/api/calls", json=other_shop).json()["script"]


def test_callback_signatures_expire(
    hardened_client: TestClient, hardened_app: FastAPI, clock: Clock
) -> None:
    call = hardened_client.post("/api/calls", json=new_call()).json()
    signed = hardened_app.state.services.calls.status_callback_params(call["id"])
    data = {"CallSid": call["exotel_call_sid"], "Status": "ringing"}
    assert hardened_client.post(CALLBACK, params=signed, data=data).status_code == 200
    clock.advance(CALLBACK_SIGNATURE_SECONDS + 1)
    assert hardened_client.post(CALLBACK, params=signed, data=data).status_code == 401
    later = {**signed, "exp": str(int(signed["exp"]) + 10**6)}  # a forged expiry
    assert hardened_client.post(CALLBACK, params=later, data=data).status_code == 401
    unsigned_expiry = {k: v for k, v in signed.items() if k != "exp"}
    assert hardened_client.post(CALLBACK, params=unsigned_expiry, data=data).status_code == 401


def test_failing_recordings_never_starve_a_newer_one(
    hardened_app: FastAPI, hardened_client: TestClient, faults: FaultInjector, clock: Clock
) -> None:
    client, calls = hardened_client, hardened_app.state.services.calls
    for _ in range(3):  # older recordings on a host never allowed: given up at once
        stuck = _placed(client)
        refused = "https://files.example.net/rec.mp3"
        data = {"CallSid": stuck["exotel_call_sid"], "Status": "completed", "RecordingUrl": refused}
        _callback(client, stuck, data=data)
    good = _placed(client)
    sid = good["exotel_call_sid"]
    faults.fail("wasabi", 503, times=1)
    _callback(
        client, good, data={"CallSid": sid, "Status": "completed", "RecordingUrl": _recording(sid)}
    )
    clock.advance(RECORDING_RETRY_SECONDS + 1)
    # One slot per round, and the three older failing rows do not take it.
    assert client.portal.call(calls.retry_pending_uploads, 1) == 1  # type: ignore[union-attr]
    assert client.get(f"/api/calls/{good['id']}").json()["recording_available"] is True


@pytest.mark.anyio
async def test_recordings_are_fetched_from_exotels_s3_storage_over_https_without_credentials() -> (
    None
):
    seen: list[httpx.Request] = []

    def storage(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"ID3")

    async with httpx.AsyncClient(transport=httpx.MockTransport(storage)) as http:
        exotel = ExotelClient(
            http,
            SERVICE_BREAKERS["exotel"].build("exotel"),
            ApmRegistry(),
            base_url="https://api.exotel.com",
            account_sid="acme1",
            api_key="key",
            api_token="token",
            caller_id="080",
        )
        s3 = "https://s3-ap-southeast-1.amazonaws.com/exotelrecordings/acme1/abc123.mp3"
        assert await exotel.download_recording(s3) == b"ID3"
        assert "authorization" not in seen[0].headers  # S3 URLs are signed; no Exotel keys
        for refused in (
            "http://s3-ap-southeast-1.amazonaws.com/exotelrecordings/acme1/a.mp3",  # not https
            "https://s3-ap-southeast-1.amazonaws.com/someone-else/a.mp3",  # another bucket
            "https://s3-ap-southeast-1.amazonaws.com:8443/exotelrecordings/a.mp3",
            "https://exotelrecordings.s3.amazonaws.com.evil.io/a.mp3",
            "https://169.254.169.254/latest/meta-data/",
        ):
            with pytest.raises(ExotelError):
                await exotel.download_recording(refused)
        assert len(seen) == 1
