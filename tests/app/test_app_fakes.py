"""The healthy fakes answer with the real APIs' shapes; FaultInjector routes to them by host."""

from __future__ import annotations

import json

import httpx
import pytest

from pytest_hardening import FaultInjector, UnregisteredHostError
from reference_app import fakes


def _client() -> httpx.Client:
    """A client whose requests the fakes answer, through the product's own fault injector."""
    return httpx.Client(transport=httpx.MockTransport(FaultInjector(fakes.providers()).respond))


def test_providers_cover_every_dependency_with_url_patterns() -> None:
    table = fakes.providers()
    assert set(table) == {"exotel", "openai", "wasabi", "shopify", "google"}
    assert table["shopify"][0] == "https://*.myshopify.com"
    with FaultInjector(table) as faults, httpx.Client() as client:
        client.post("https://acme.myshopify.com/admin/api/2025-10/graphql.json")
        for foreign in ("https://myshopify.com.evil.io/", "http://api.exotel.com/"):  # scheme too
            with pytest.raises(UnregisteredHostError):
                client.get(foreign)
    assert [call.outcome for call in faults.calls("shopify")] == ["ok 401"]
    assert [str(r.url) for r in faults.unregistered] == [
        "https://myshopify.com.evil.io/",
        "http://api.exotel.com/",
    ]


def test_exotel_connect_answers_a_call_object() -> None:
    with _client() as client:
        response = client.post(
            "https://api.exotel.com/v1/Accounts/acme/Calls/connect.json",
            data={"From": "+919876543210", "To": "0800", "CallerId": "0800"},
            auth=("key", "token"),
        )
        unauthenticated = client.post("https://api.exotel.com/v1/Accounts/acme/Calls/connect.json")
    call = response.json()["Call"]
    assert response.status_code == 200
    assert call["Status"] == "in-progress"
    assert call["AccountSid"] == "acme"
    assert call["Uri"] == f"/v1/Accounts/acme/Calls/{call['Sid']}.json"
    assert unauthenticated.status_code == 401
    assert "RestException" in unauthenticated.json()


def test_openai_answers_a_chat_completion() -> None:
    with _client() as client:
        response = client.post(
            "https://api.openai.com/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": []},
            headers={"Authorization": "Bearer sk"},
        )
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["choices"][0]["message"]["role"] == "assistant"
    assert body["choices"][0]["finish_reason"] == "stop"


def test_wasabi_put_returns_the_etag_and_requires_a_signature() -> None:
    with _client() as client:
        signed = client.put(
            "https://s3.wasabisys.com/b/k.mp3",
            content=b"abc",
            headers={"Authorization": "AWS4-HMAC-SHA256 Credential=x"},
        )
        anonymous = client.put("https://s3.wasabisys.com/b/k.mp3", content=b"abc")
    assert signed.headers["etag"] == '"900150983cd24fb0d6963f7d28e17f72"'  # md5("abc")
    assert anonymous.status_code == 403
    assert "<Code>AccessDenied</Code>" in anonymous.text


def test_shopify_answers_graphql_orders() -> None:
    query = {"query": "{}", "variables": {"id": "gid://shopify/Order/77"}}
    with _client() as client:
        response = client.post(
            "https://shop-1.myshopify.com/admin/api/2025-10/graphql.json",
            json=query,
            headers={"X-Shopify-Access-Token": "t"},
        )
    order = response.json()["data"]["order"]
    assert order["id"] == "gid://shopify/Order/77"
    assert order["paymentGatewayNames"] == ["Cash on Delivery (COD)"]


def test_google_token_exchange() -> None:
    form = {
        "code": "c",
        "client_id": "i",
        "client_secret": "s",
        "redirect_uri": "r",
        "grant_type": "authorization_code",
    }
    with _client() as client:
        good = client.post("https://oauth2.googleapis.com/token", data=form)
        bad = client.post("https://oauth2.googleapis.com/token", data=form | {"code": ""})
    assert good.json()["token_type"] == "Bearer"
    assert bad.status_code == 400
    assert json.loads(bad.content)["error"] == "invalid_grant"


def test_unknown_hosts_fail_like_an_unreachable_host() -> None:
    with _client() as client, pytest.raises(httpx.ConnectError, match=r"example\.org"):
        client.get("https://example.org/")


def test_a_fault_replaces_one_provider() -> None:
    with FaultInjector(fakes.providers()) as faults, httpx.Client() as client:
        faults.fail("openai", 503)
        assert client.post("https://api.openai.com/v1/chat/completions").status_code == 503
        assert (
            client.post("https://oauth2.googleapis.com/token", data={"grant_type": "x"}).status_code
            == 400
        )
