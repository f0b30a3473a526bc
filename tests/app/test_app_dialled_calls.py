"""A dialled call is never reported or stored as undialled, and callbacks attach only to the call
they were signed for, moving it forward only."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pytest_hardening import FaultInjector, SentryCapture
from reference_app import create_app, load_settings
from reference_app.resilience import ManualClock

from .conftest import MERCHANT_HEADERS, new_call

CALLBACK = "/api/webhooks/exotel/status-callback"


@pytest.fixture
def database_fails_after_dial(
    file_db_env: dict[str, str], faults: FaultInjector, sentry_transport: SentryCapture
) -> Iterator[FastAPI]:
    """An app whose database breaker opens the moment Exotel accepts a call: the write that
    records the dial is refused (the outage runs' half-open recovery)."""
    holder: dict[str, Any] = {}

    def respond(request: httpx.Request) -> httpx.Response:
        response = faults.respond(request)
        if request.url.path.endswith("/Calls/connect.json"):
            holder["app"].state.breakers["database"].force_open()
        return response

    app = create_app(
        load_settings(file_db_env),
        http_transport=httpx.MockTransport(respond),
        sentry_transport=sentry_transport,
        clock=ManualClock(1000.0),
    )
    holder["app"] = app
    yield app
    app.state.sentry.close()


def _stored(db: Path) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT status, exotel_call_sid FROM calls").fetchall()


def test_a_dial_whose_write_fails_is_reported_dialled_and_stored_at_shutdown(
    database_fails_after_dial: FastAPI, file_db_env: dict[str, str]
) -> None:
    app = database_fails_after_dial
    with TestClient(app, headers=MERCHANT_HEADERS) as client:
        placed = client.post("/api/calls", json=new_call())
        assert placed.status_code == 201, placed.text  # not "202 queued": it was dialled
        assert placed.json()["status"] == "initiated"
        sid = placed.json()["exotel_call_sid"]
        assert sid
        app.state.breakers["database"].reset()  # the database recovers
    db = Path(file_db_env["DATABASE_URL"].split("///", 1)[1])
    assert _stored(db) == [("initiated", sid)]


def test_the_signed_callback_repairs_a_lost_callsid(
    database_fails_after_dial: FastAPI,
) -> None:
    app = database_fails_after_dial
    with TestClient(app, headers=MERCHANT_HEADERS) as client:
        placed = client.post("/api/calls", json=new_call()).json()
        app.state.breakers["database"].reset()
        signed = app.state.services.calls.status_callback_params(placed["id"])
        answered = client.post(
            CALLBACK,
            params=signed,
            data={"CallSid": placed["exotel_call_sid"], "Status": "ringing"},
        )
        assert answered.json() == {"result": "updated", "status": "ringing"}
        stored = client.get(f"/api/calls/{placed['id']}").json()
        assert stored["exotel_call_sid"] == placed["exotel_call_sid"]


def test_call_status_only_moves_forward(hardened_client: TestClient, hardened_app: Any) -> None:
    placed = hardened_client.post("/api/calls", json=new_call()).json()
    signed = hardened_app.state.services.calls.status_callback_params(placed["id"])
    sid = placed["exotel_call_sid"]

    def send(status: str) -> Any:
        return hardened_client.post(
            CALLBACK, params=signed, data={"CallSid": sid, "Status": status}
        )

    assert send("completed").json()["status"] == "completed"
    for late in ("ringing", "in-progress", "queued", "failed"):
        assert send(late).json()["status"] == "completed", late
    assert hardened_client.get(f"/api/calls/{placed['id']}").json()["status"] == "completed"


def test_a_callback_signed_for_one_call_cannot_touch_another(
    hardened_client: TestClient, hardened_app: Any
) -> None:
    first = hardened_client.post("/api/calls", json=new_call()).json()
    second = hardened_client.post("/api/calls", json=new_call(order_id="2")).json()
    signed_first = hardened_app.state.services.calls.status_callback_params(first["id"])
    forged = {**signed_first, "call_id": second["id"]}
    data = {"CallSid": second["exotel_call_sid"], "Status": "completed"}
    assert hardened_client.post(CALLBACK, params=forged, data=data).status_code == 401
    # The first call's signature with the second call's CallSid changes nothing either.
    ignored = hardened_client.post(CALLBACK, params=signed_first, data=data)
    assert ignored.json() == {"result": "ignored"}
    assert hardened_client.get(f"/api/calls/{second['id']}").json()["status"] == "initiated"
