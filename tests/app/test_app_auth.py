"""Google sign-in: redirect with the configured callback, code exchange via its breaker."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pytest_hardening import BreakerInspector, FaultInjector
from reference_app.testing import DEV_ENV


def _login(client: TestClient) -> str:
    response = client.get("/api/auth/google/login", follow_redirects=False)
    assert response.status_code == 302
    location = httpx.URL(response.headers["location"])
    assert location.host == "accounts.google.com"
    state = location.params["state"]
    assert client.cookies.get("oauth_state") == state
    return state


def test_login_redirects_to_google_with_the_configured_callback(client: TestClient) -> None:
    response = client.get("/api/auth/google/login", follow_redirects=False)

    location = httpx.URL(response.headers["location"])
    assert location.params["redirect_uri"] == "http://localhost:8080/api/auth/google/callback"
    assert location.params["client_id"] == "client-id.apps.googleusercontent.com"
    assert location.params["response_type"] == "code"
    assert len(location.params["state"]) >= 24


def test_callback_exchanges_the_code_and_echoes_no_token(
    client: TestClient, faults: FaultInjector
) -> None:
    state = _login(client)

    response = client.get("/api/auth/google/callback", params={"code": "4/abc", "state": state})

    assert response.status_code == 200
    assert response.json()["authenticated"] is True
    assert "ya29" not in response.text
    assert "id_token" not in response.text
    exchange = faults.assert_called("google", times=1)[0].request
    assert str(exchange.url) == "https://oauth2.googleapis.com/token"
    form = {k: v[0] for k, v in parse_qs(exchange.content.decode()).items()}
    assert form == {
        "code": "4/abc",
        "client_id": "client-id.apps.googleusercontent.com",
        "client_secret": DEV_ENV["GOOGLE_CLIENT_SECRET"],
        "redirect_uri": "http://localhost:8080/api/auth/google/callback",
        "grant_type": "authorization_code",
    }


def test_callback_rejects_a_forged_state(
    hardened_client: TestClient, faults: FaultInjector
) -> None:
    _login(hardened_client)
    response = hardened_client.get(
        "/api/auth/google/callback", params={"code": "c", "state": "forged"}
    )
    assert response.status_code == 400
    assert faults.calls("google") == []


def test_invalid_code_is_400_and_google_outage_is_503(
    hardened_client: TestClient, faults: FaultInjector, breakers: BreakerInspector
) -> None:
    state = _login(hardened_client)
    faults.fail("google", 400)
    response = hardened_client.get(
        "/api/auth/google/callback", params={"code": "old", "state": state}
    )
    assert response.status_code == 400

    faults.fail("google", 500)
    response = hardened_client.get(
        "/api/auth/google/callback", params={"code": "c", "state": state}
    )
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) >= 1
    assert breakers.state("google") == "CLOSED"  # one failure: counted, not yet open


def test_login_without_google_credentials_is_503(
    build: Callable[[dict[str, str]], FastAPI], dev_env: dict[str, str]
) -> None:
    env = {k: v for k, v in dev_env.items() if not k.startswith("GOOGLE_")}
    with TestClient(build(env)) as client:
        response = client.get("/api/auth/google/login", follow_redirects=False)
    assert response.status_code == 503
