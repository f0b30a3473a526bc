"""Who may place and read calls: merchant API keys, Google sign-in sessions, shop ownership,
the per-merchant rate limit, and Idempotency-Key."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from pytest_hardening import Clock, FaultInjector
from reference_app.testing import DEV_ENV, OTHER_MERCHANT_API_KEY, TEST_MERCHANT_API_KEY

from .conftest import new_call

ANONYMOUS = {"Authorization": ""}
OTHER = {"Authorization": f"Bearer {OTHER_MERCHANT_API_KEY}"}


@pytest.mark.parametrize(
    "headers",
    [
        ANONYMOUS,
        {"Authorization": "Bearer not-a-key"},
        {"Authorization": f"Basic {TEST_MERCHANT_API_KEY}"},
        {"Authorization": f"Bearer {TEST_MERCHANT_API_KEY}x"},
        {"Authorization": f"Bearer {DEV_ENV['MONITORING_ADMIN_TOKEN']}"},
    ],
)
def test_calls_need_a_merchant_key(
    hardened_client: TestClient, faults: FaultInjector, headers: dict[str, str]
) -> None:
    placed = hardened_client.post("/api/calls", json=new_call(), headers=headers)
    assert placed.status_code == 401
    assert placed.headers["www-authenticate"] == "Bearer"
    assert faults.calls("exotel") == []  # nobody was dialled
    assert hardened_client.get(f"/api/calls/{'0' * 32}", headers=headers).status_code == 401


def test_a_merchant_places_only_for_its_own_shops(
    hardened_client: TestClient, faults: FaultInjector
) -> None:
    response = hardened_client.post("/api/calls", json=new_call(), headers=OTHER)
    assert response.status_code == 403
    assert "5001" not in response.text
    assert "INR" not in response.text
    assert faults.calls("exotel") == []
    assert faults.calls("shopify") == []


def test_a_merchant_cannot_read_another_merchants_call(hardened_client: TestClient) -> None:
    call_id = hardened_client.post("/api/calls", json=new_call()).json()["id"]
    assert hardened_client.get(f"/api/calls/{call_id}").status_code == 200
    assert hardened_client.get(f"/api/calls/{call_id}", headers=OTHER).status_code == 404


def test_google_sign_in_establishes_a_session_for_the_mapped_merchant(
    hardened_client: TestClient,
) -> None:
    login = hardened_client.get("/api/auth/google/login", follow_redirects=False)
    state = hardened_client.cookies.get("oauth_state")
    assert login.status_code == 302
    assert state
    signed_in = hardened_client.get(
        "/api/auth/google/callback", params={"code": "4/abc", "state": state}
    )
    assert signed_in.status_code == 200
    (cookie,) = [c for c in signed_in.headers.get_list("set-cookie") if c.startswith("session=")]
    assert "HttpOnly" in cookie
    assert "Secure" not in cookie
    placed = hardened_client.post("/api/calls", json=new_call(), headers=ANONYMOUS)
    assert placed.status_code == 201  # the session alone authenticates

    tampered = hardened_client.cookies["session"][:-2] + "xx"
    hardened_client.cookies.clear()
    forged = {"Cookie": f"session={tampered}", **ANONYMOUS}
    assert hardened_client.post("/api/calls", json=new_call(), headers=forged).status_code == 401


def test_the_session_expires(hardened_client: TestClient, clock: Clock) -> None:
    hardened_client.get("/api/auth/google/login", follow_redirects=False)
    state = hardened_client.cookies["oauth_state"]
    hardened_client.get("/api/auth/google/callback", params={"code": "c", "state": state})
    clock.advance(8 * 3600 + 1)
    assert hardened_client.post("/api/calls", json=new_call(), headers=ANONYMOUS).status_code == 401


class TestProductionSession:
    @pytest.fixture
    def hardening_prod_env(self, hardening_prod_env: dict[str, str]) -> dict[str, str]:
        accounts = DEV_ENV["MERCHANT_GOOGLE_ACCOUNTS"]
        return {**hardening_prod_env, "MERCHANT_GOOGLE_ACCOUNTS": accounts}

    @pytest.mark.production
    def test_the_session_cookie_is_secure_in_production(self, hardened_client: TestClient) -> None:
        login = hardened_client.get("/api/auth/google/login", follow_redirects=False)
        state = httpx.URL(login.headers["location"]).params["state"]
        # Secure cookies are not sent back over the test client's http: send it by hand.
        signed_in = hardened_client.get(
            "/api/auth/google/callback",
            params={"code": "c", "state": state},
            headers={"Cookie": f"oauth_state={state}"},
        )
        assert signed_in.status_code == 200
        (cookie,) = [c for c in signed_in.headers.get_list("set-cookie") if "session=" in c]
        assert "HttpOnly" in cookie
        assert "Secure" in cookie


def test_an_unmapped_google_account_gets_no_session(build: Any, dev_env: dict[str, str]) -> None:
    env = {**dev_env, "MERCHANT_GOOGLE_ACCOUNTS": "someone@else.example=acme"}
    with TestClient(build(env)) as client:
        client.get("/api/auth/google/login", follow_redirects=False)
        state = client.cookies["oauth_state"]
        signed_in = client.get("/api/auth/google/callback", params={"code": "c", "state": state})
    assert signed_in.status_code == 403
    assert not any(c.startswith("session=") for c in signed_in.headers.get_list("set-cookie"))


class TestRateLimit:
    @pytest.fixture
    def hardening_dev_env(self, hardening_dev_env: dict[str, str]) -> dict[str, str]:
        return {**hardening_dev_env, "MERCHANT_RATE_LIMIT": "3"}

    def test_over_the_limit_is_429_with_retry_after_until_time_passes(
        self, hardened_client: TestClient, clock: Clock, faults: FaultInjector
    ) -> None:
        for _ in range(3):
            assert hardened_client.post("/api/calls", json=new_call()).status_code == 201
        limited = hardened_client.post("/api/calls", json=new_call())
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) == 20  # one call per 20 s at 3/min
        assert len(faults.calls("exotel")) == 3
        # Per merchant: the other merchant is not limited by this one.
        other = new_call(shop="other.myshopify.com")
        assert hardened_client.post("/api/calls", json=other, headers=OTHER).status_code == 201
        clock.advance(20)
        assert hardened_client.post("/api/calls", json=new_call()).status_code == 201


def _post(client: TestClient, key: str, **overrides: Any) -> Any:
    return client.post("/api/calls", json=new_call(**overrides), headers={"Idempotency-Key": key})


def test_the_same_idempotency_key_and_body_answer_the_first_call_without_a_second_dial(
    hardened_client: TestClient, faults: FaultInjector
) -> None:
    first = _post(hardened_client, "order-5521-attempt")
    again = _post(hardened_client, "order-5521-attempt")
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(faults.calls("exotel")) == 1

    other = _post(hardened_client, "order-5521-attempt", phone="+919876500000")
    assert other.status_code == 422
    assert len(faults.calls("exotel")) == 1
    # Keys belong to a merchant: another merchant's identical key is its own.
    theirs = hardened_client.post(
        "/api/calls",
        json=new_call(shop="other.myshopify.com"),
        headers={"Idempotency-Key": "order-5521-attempt", **OTHER},
    )
    assert theirs.status_code == 201
    assert theirs.json()["id"] != first.json()["id"]


def test_a_queued_first_answer_is_replayed_as_queued(
    hardened_client: TestClient, faults: FaultInjector
) -> None:
    faults.fail("exotel", 503)
    first = _post(hardened_client, "k-queued")
    faults.heal("exotel")
    again = _post(hardened_client, "k-queued")
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert len(faults.calls("exotel")) == 1


@pytest.mark.parametrize("key", ["", "x" * 256, "has space", "tab\there"])
def test_malformed_idempotency_keys_are_422(
    hardened_client: TestClient, faults: FaultInjector, key: str
) -> None:
    response = hardened_client.post("/api/calls", json=new_call(), headers={"Idempotency-Key": key})
    assert response.status_code == 422
    assert faults.calls("exotel") == []
