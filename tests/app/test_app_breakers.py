"""Each dependency's breaker opens at its SPEC threshold; 4xx never trips; recovery closes."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from reference_app.fakes import database_outage
from reference_app.resilience import ManualClock

from ._support import Switchboard
from .conftest import new_call


def _states(app: FastAPI) -> dict[str, str]:
    return {name: b.state.value for name, b in app.state.breakers.items()}


def test_the_registry_holds_the_five_service_breakers_and_google(app: FastAPI) -> None:
    expected = {"exotel", "openai", "wasabi", "shopify", "database", "google"}
    assert set(app.state.breakers) == expected


@pytest.mark.parametrize("provider", ["exotel", "openai", "shopify"])
def test_call_flow_provider_breaker_opens_after_five_failures(
    provider: str, app: FastAPI, client: TestClient, switchboard: Switchboard
) -> None:
    switchboard.fail(provider, 503)
    for attempt in range(5):
        assert app.state.breakers[provider].state.value == "CLOSED", attempt
        assert client.post("/api/calls", json=new_call()).status_code in (201, 202)
    assert app.state.breakers[provider].state.value == "OPEN"
    contacted = len(switchboard.calls(provider))

    response = client.post("/api/calls", json=new_call())

    assert response.status_code in (201, 202)
    assert len(switchboard.calls(provider)) == contacted  # fast-fail: provider not contacted


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_client_errors_do_not_trip_the_breaker(
    status: int, app: FastAPI, client: TestClient, switchboard: Switchboard
) -> None:
    switchboard.fail("exotel", status)
    switchboard.fail("openai", status)
    for _ in range(8):
        assert client.post("/api/calls", json=new_call()).status_code == 202
    assert _states(app)["exotel"] == "CLOSED"
    assert _states(app)["openai"] == "CLOSED"


def test_rate_limiting_trips_the_breaker(
    app: FastAPI, client: TestClient, switchboard: Switchboard
) -> None:
    switchboard.fail("openai", 429)
    for _ in range(5):
        client.post("/api/calls", json=new_call())
    assert _states(app)["openai"] == "OPEN"


def test_exotel_breaker_recovers_after_the_open_timeout(
    app: FastAPI, client: TestClient, switchboard: Switchboard, clock: ManualClock
) -> None:
    switchboard.fail("exotel", 503)
    for _ in range(5):
        client.post("/api/calls", json=new_call())
    switchboard.heal("exotel")
    assert client.post("/api/calls", json=new_call()).status_code == 202  # still open

    clock.advance(60.0)
    assert client.post("/api/calls", json=new_call()).status_code == 201  # probe 1
    assert _states(app)["exotel"] == "HALF_OPEN"
    assert client.post("/api/calls", json=new_call()).status_code == 201  # probe 2
    assert _states(app)["exotel"] == "CLOSED"


def test_wasabi_breaker_opens_after_five_failed_uploads(
    app: FastAPI, client: TestClient, switchboard: Switchboard
) -> None:
    switchboard.fail("wasabi", 500)
    for n in range(5):
        call = client.post("/api/calls", json=new_call()).json()
        sid = call["exotel_call_sid"]
        recording = f"https://api.exotel.com/v1/Accounts/acme1/Recordings/{sid}.mp3"
        callback = {"CallSid": sid, "Status": "completed", "RecordingUrl": recording}
        assert client.post("/api/webhooks/exotel/status-callback", data=callback).status_code == 200
        assert len(switchboard.calls("wasabi")) == n + 1
    assert _states(app)["wasabi"] == "OPEN"


def test_database_breaker_opens_after_ten_failures_and_answers_503_retry_after(
    app: FastAPI, client: TestClient, switchboard: Switchboard, clock: ManualClock
) -> None:
    with database_outage(app.state.db.engine):
        for attempt in range(10):
            response = client.post("/api/calls", json=new_call())
            assert response.status_code == 503, attempt
            assert int(response.headers["retry-after"]) >= 1
        assert _states(app)["database"] == "OPEN"
        clock.advance(15.0)
        response = client.post("/api/calls", json=new_call())

    assert response.status_code == 503
    assert response.headers["retry-after"] == "45"  # seconds until the next probe
    assert switchboard.calls("exotel") == []  # nothing was placed for an unrecorded call
    clock.advance(45.0)
    for _ in range(3):  # success_threshold probes close it
        assert client.post("/api/calls", json=new_call()).status_code == 201
    assert _states(app)["database"] == "CLOSED"


def test_database_loss_writes_nothing(
    build: Callable[[dict[str, str]], FastAPI], file_db_env: dict[str, str], tmp_path: Path
) -> None:
    app = build(file_db_env)
    with TestClient(app) as client:
        client.post("/api/calls", json=new_call())
        with database_outage(app.state.db.engine):
            assert client.post("/api/calls", json=new_call(order_id="lost")).status_code == 503

    with sqlite3.connect(tmp_path / "calls.db") as db:
        rows = db.execute("SELECT order_id, status FROM calls").fetchall()
    assert rows == [("5521", "initiated")]
    assert app.state.apm.db("insert_call").count == 2
    assert app.state.apm.db("insert_call").errors == 1


def test_google_breaker_opens_after_five_failures(
    app: FastAPI, client: TestClient, switchboard: Switchboard
) -> None:
    switchboard.fail("google", 503)
    for _ in range(5):
        client.cookies.set("oauth_state", "s1")
        response = client.get("/api/auth/google/callback", params={"code": "c", "state": "s1"})
        assert response.status_code == 503
    assert _states(app)["google"] == "OPEN"
