"""Sentry events leave the process without secrets or PII, and are still captured."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
import sentry_sdk
from fastapi import FastAPI, Request

from pytest_hardening import FaultInjector, SentryCapture
from reference_app.config import Settings, load_settings
from reference_app.observability import (
    SentryHandle,
    add_breadcrumb,
    capture_error,
    capture_message,
    init_sentry,
    set_user,
)

pytestmark = pytest.mark.anyio

DSN = "https://publickey@o1.ingest.example.com/1"

SECRETS = {
    "auth": "Bearer auth-Tk9x2mQ7vL",
    "cookie": "session=cookie-Zx81pQ",
    "shopify_token": "shpat_Vb12-header-token",
    "shopify_hmac": "hmacQw77Rt55base64==",
    "query_token": "qtok-Hy07Jk66",
    "oauth_code": "4-0AXcodeLm42",
    "body_password": "body-pass-Nc38",
    "body_phone": "+919876543210",
    "local_secret": "local-secret-Pw93",
    "message_phone": "+14155552671",
    "message_email": "jane.doe@example.org",
    "crumb_phone": "+447700900123",
    "crumb_token": "crumb-token-Xe29",
    "outbound_key": "sk-outbound-Rt31",
    "referer_token": "ref-token-Qa52",
    "auth_token_header": "xat-Wd64-header",
    "amz_token_header": "FwoGZXIvYXdzEXAMPLE",
}


def dev_settings(**extra: str) -> Settings:
    return load_settings({"ENABLE_SENTRY": "true", "SENTRY_DSN": DSN, **extra})


@pytest.fixture(autouse=True)
def isolated_sentry_scopes() -> Iterator[None]:
    """Breadcrumbs (the test client's own httpx calls), users and tags recorded here stay here:
    later tests fork their scopes from the root one and would inherit them."""
    with sentry_sdk.isolation_scope(), sentry_sdk.new_scope():
        yield


@pytest.fixture
def transport() -> SentryCapture:
    return SentryCapture()


@pytest.fixture
def sentry(transport: SentryCapture) -> Iterator[SentryHandle]:
    handle = init_sentry(dev_settings(), transport=transport)
    try:
        yield handle
    finally:
        handle.close()


def build_app() -> FastAPI:
    app = FastAPI()

    @app.post("/api/orders/{order_id}")
    async def failing(order_id: str, request: Request) -> None:
        payload = await request.json()
        local_secret = SECRETS["local_secret"]  # must not appear via frame locals
        outbound = httpx.MockTransport(FaultInjector({"api": "https://api.example.com"}).respond)
        async with httpx.AsyncClient(transport=outbound) as client:
            await client.get(f"https://api.example.com/v1/x?api_key={SECRETS['outbound_key']}")
        add_breadcrumb(
            f"dialling {SECRETS['crumb_phone']}",
            data={"url": f"https://hooks.example.com/cb?token={SECRETS['crumb_token']}"},
        )
        logging.getLogger("app").info("calling %s", SECRETS["crumb_phone"])
        raise RuntimeError(
            f"call to {payload['phone']} for {SECRETS['message_email']} failed "
            f"({SECRETS['message_phone']}); secret len {len(local_secret)}"
        )

    return app


async def test_request_event_carries_no_secret_but_is_captured(
    sentry: SentryHandle, transport: SentryCapture
) -> None:
    app = build_app()
    asgi = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=asgi, base_url="http://testserver") as client:
        response = await client.post(
            f"/api/orders/42?token={SECRETS['query_token']}&code={SECRETS['oauth_code']}",
            json={"phone": SECRETS["body_phone"], "password": SECRETS["body_password"]},
            headers={
                "Authorization": SECRETS["auth"],
                "Cookie": SECRETS["cookie"],
                "X-Shopify-Access-Token": SECRETS["shopify_token"],
                "X-Shopify-Hmac-Sha256": SECRETS["shopify_hmac"],
                "Referer": f"https://app.example.com/cb?access_token={SECRETS['referer_token']}",
                # Not in any exact denylist: caught by the sensitive-name pattern.
                "X-Auth-Token": SECRETS["auth_token_header"],
                "X-Amz-Security-Token": SECRETS["amz_token_header"],
            },
        )
    assert response.status_code == 500
    sentry.flush()

    transport.assert_no_secrets(*SECRETS.values())

    # Positive: the error event is there, with useful, redacted context.
    [event] = [e for e in transport.events if e.get("exception")]
    exception = event["exception"]["values"][-1]
    assert exception["type"] == "RuntimeError"
    assert "[Filtered]" in exception["value"]
    assert "failed" in exception["value"]
    request = event["request"]
    assert request["url"].endswith("/api/orders/42")
    assert request["query_string"] == "token=[Filtered]&code=[Filtered]"
    assert request["headers"]["authorization"] == "[Filtered]"
    assert request["headers"]["x-shopify-access-token"] == "[Filtered]"
    assert "data" not in request
    assert all("vars" not in f for f in exception["stacktrace"]["frames"])
    crumbs = [c.get("message") or "" for c in event["breadcrumbs"]["values"]]
    assert any(m.startswith("dialling [Filtered]") for m in crumbs)
    # Traces are on in development (100 %) and went through the same redaction.
    assert transport.transactions


async def test_span_thread_ids_are_kept_and_outbound_urls_redacted(
    sentry: SentryHandle, transport: SentryCapture
) -> None:
    asgi = httpx.ASGITransport(app=build_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=asgi, base_url="http://testserver") as client:
        response = await client.post("/api/orders/42", json={"phone": SECRETS["body_phone"]})
    assert response.status_code == 500
    sentry.flush()

    [transaction] = transport.transactions
    [outbound] = [s for s in transaction["spans"] if s.get("op") == "http.client"]
    # The SDK's own thread id is a bare 15-digit number, not a phone number to filter.
    assert outbound["data"]["thread.id"].isdigit(), outbound["data"]
    assert SECRETS["outbound_key"] not in str(outbound)
    transport.assert_no_secrets(SECRETS["body_phone"], SECRETS["outbound_key"])


async def test_unmatched_raw_path_with_a_phone_number_is_redacted(
    sentry: SentryHandle, transport: SentryCapture
) -> None:
    app = build_app()
    asgi = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=asgi, base_url="http://testserver") as client:
        assert (await client.get(f"/api/lookup/{SECRETS['body_phone']}")).status_code == 404
    capture_message(f"lookup miss for {SECRETS['body_phone']}")
    sentry.flush()

    assert transport.transactions  # the 404 request was traced ...
    assert transport.events  # ... and the message captured ...
    transport.assert_no_secrets(SECRETS["body_phone"])  # ... without the number


async def test_helpers_send_context_redacted(
    sentry: SentryHandle, transport: SentryCapture
) -> None:
    set_user("user-17")
    try:
        raise ValueError(f"otp=991122 rejected for {SECRETS['message_email']}")
    except ValueError as exc:
        event_id = capture_error(
            exc, order_id="1001", api_key="ctx-key-Lm11", tags={"provider": "exotel"}
        )
    capture_message(f"order 1001 confirmed by {SECRETS['message_phone']}", level="warning")
    sentry.flush()

    assert event_id is not None
    transport.assert_no_secrets(
        "991122", "ctx-key-Lm11", SECRETS["message_email"], SECRETS["message_phone"]
    )
    error, message = transport.events
    assert error["event_id"] == event_id
    assert error["extra"]["order_id"] == "1001"
    assert error["extra"]["api_key"] == "[Filtered]"
    assert error["tags"]["provider"] == "exotel"
    assert error["user"] == {"id": "user-17"}
    assert message["level"] == "warning"
    assert message["message"] == "order 1001 confirmed by [Filtered]"


def test_options_harden_the_sdk_defaults(sentry: SentryHandle) -> None:
    assert sentry.enabled
    assert sentry.client is not None
    options = sentry.client.options
    assert options["include_local_variables"] is False
    assert options["max_request_body_size"] == "never"
    assert sentry.client.should_send_default_pii() is False
    assert options["traces_sample_rate"] == 1.0
    # What the scrubber does, not how it keeps its list (sentry-sdk 2.76 stores "x_shopify...").
    headers = {
        "Authorization": "Bearer t0ken-value",
        "Cookie": "session=c00kie-value",
        "X-Shopify-Access-Token": "shpat_access-value",
        "X-Shopify-Hmac-Sha256": "hmac-value",
        "Accept": "application/json",
    }
    event: dict[str, Any] = {"request": {"headers": dict(headers), "data": {"otp": "482913"}}}
    options["event_scrubber"].scrub_event(event)
    scrubbed = event["request"]["headers"]
    assert scrubbed["Accept"] == "application/json"  # not a secret: kept
    for name in ("Authorization", "Cookie", "X-Shopify-Access-Token", "X-Shopify-Hmac-Sha256"):
        assert scrubbed[name] != headers[name], name
    assert event["request"]["data"]["otp"] != "482913"


def test_only_the_integrations_of_what_the_app_uses_are_enabled(sentry: SentryHandle) -> None:
    # Auto-enabling would also set up (and import at boot) every other installed SDK.
    assert sentry.client is not None
    enabled = set(sentry.client.integrations)
    assert {"fastapi", "starlette", "httpx", "sqlalchemy"} <= enabled
    assert not enabled & {"anthropic", "aiohttp", "openai"}
    # No PostgreSQL (the default SQLite database): asyncpg's integration would import the driver.
    assert "asyncpg" not in enabled


def test_a_postgresql_app_enables_the_asyncpg_integration(transport: SentryCapture) -> None:
    settings = dev_settings(DATABASE_URL="postgresql://app@db.internal/calls")
    handle = init_sentry(settings, transport=transport)  # nothing connects
    try:
        assert handle.client is not None
        assert "asyncpg" in handle.client.integrations
    finally:
        handle.close()


def test_production_samples_ten_percent_of_traces(transport: SentryCapture) -> None:
    from tests.config._envs import production_env

    handle = init_sentry(load_settings(production_env()), transport=transport)
    try:
        assert handle.client is not None
        assert handle.client.options["traces_sample_rate"] == pytest.approx(0.1)
        assert handle.client.options["environment"] == "production"
    finally:
        handle.close()


OPENAI_INTEGRATION_BOTH_ORDERS = """
import sys

import httpx
import sentry_sdk
from starlette.testclient import TestClient

from pytest_hardening import FaultInjector, SentryCapture
from reference_app import create_app, fakes
from reference_app.config import load_settings
from reference_app.observability import init_sentry
from reference_app.testing import DEV_ENV, TEST_MERCHANT_API_KEY

env = {**DEV_ENV, "DATABASE_URL": "sqlite+aiosqlite:///" + sys.argv[1]}
providers = httpx.MockTransport(FaultInjector(fakes.providers()).respond)
app = create_app(load_settings(env), sentry_transport=SentryCapture(), http_transport=providers)
headers = {"Authorization": f"Bearer {TEST_MERCHANT_API_KEY}"}
with TestClient(app, headers=headers) as client:
    assert client.get("/api/monitoring/health").status_code == 200
    # Booting, Sentry included, never imported the OpenAI SDK: the first script does.
    assert "openai" not in sys.modules, "imported at boot"
    # Installed by another client after the app's: the app's client does not take it up.
    from sentry_sdk.integrations import openai as sentry_openai  # imports the SDK

    other = sentry_sdk.Client(dsn=DEV_ENV["SENTRY_DSN"], transport=SentryCapture(),
                              integrations=[sentry_openai.OpenAIIntegration()],
                              auto_enabling_integrations=False)
    assert other.get_integration(sentry_openai.OpenAIIntegration) is not None
    assert app.state.sentry.client.get_integration(sentry_openai.OpenAIIntegration) is None
    call = {"order_id": "5521", "shop": "acme.myshopify.com", "phone": "+919876543210"}
    placed = client.post("/api/calls", json=call)
    assert placed.status_code == 201, placed.text
    assert "Namaste" in client.get(f"/api/calls/{placed.json()['id']}").json()["script"]
    assert "openai" in sys.modules

# Installed before a client starts: that client disables it.
handle = init_sentry(load_settings(env), transport=SentryCapture())
assert handle.client.get_integration(sentry_openai.OpenAIIntegration) is None, "taken up"
handle.close()
"""


@pytest.mark.slow
def test_the_openai_integration_stays_off_whichever_client_installed_it_first(
    tmp_path: Path,
) -> None:
    # It reports every OpenAI SDK error as unhandled, though the app handles each one. Once any
    # client of the process installed it (another app, a test), sentry-sdk gave it to every
    # later client despite disabled_integrations. A fresh interpreter: installs are per
    # process, and so is the first import of the OpenAI SDK (it must wait for a script).
    import subprocess
    import sys

    run = subprocess.run(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-c", OPENAI_INTEGRATION_BOTH_ORDERS, str(tmp_path / "calls.db")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr


def test_disabled_without_dsn_touches_nothing() -> None:
    before = sentry_sdk.get_global_scope().client
    handle = init_sentry(load_settings({"ENABLE_SENTRY": "true"}))
    assert not handle.enabled
    assert sentry_sdk.get_global_scope().client is before
    handle.flush()
    handle.close()
    assert sentry_sdk.get_global_scope().client is before


def test_close_flushes_and_restores_the_previous_client() -> None:
    original = sentry_sdk.get_global_scope().client
    outer_transport, inner_transport = SentryCapture(), SentryCapture()
    outer = init_sentry(dev_settings(), transport=outer_transport)
    try:
        inner = init_sentry(dev_settings(), transport=inner_transport)
        assert sentry_sdk.get_client() is inner.client
        with mock.patch.object(inner_transport, "flush", wraps=inner_transport.flush) as flush:
            capture_message("from the inner app")
            flush.assert_not_called()  # a real transport still holds it in its queue

            inner.close()
            inner.close()  # idempotent

        flush.assert_called_once()  # so the queue was sent before the client went away
        assert [e["message"] for e in inner_transport.events] == ["from the inner app"]
        assert sentry_sdk.get_client() is outer.client
        assert not inner.enabled
    finally:
        outer.close()
    assert sentry_sdk.get_global_scope().client is original
    assert not sentry_sdk.get_client().is_active()


async def test_a_breadcrumb_redacted_at_record_and_at_send_reads_filtered_once(
    sentry: SentryHandle, transport: SentryCapture
) -> None:
    # Breadcrumbs are redacted when recorded and again when the event is sent: twice must read
    # exactly as once ("[Filtered]", not "[Filtered]]").
    add_breadcrumb(
        "callback token=abc123 code=xyz",
        data={"note": "password: hunter2", "url": "https://h.example.com/cb?token=abc123"},
    )
    sentry_sdk.capture_message("after the crumb")
    sentry.flush()

    [event] = transport.events
    [crumb] = [c for c in event["breadcrumbs"]["values"] if c.get("message", "").startswith("cal")]
    assert crumb["message"] == "callback token=[Filtered] code=[Filtered]"
    assert crumb["data"]["note"] == "password: [Filtered]"
    assert crumb["data"]["url"] == "https://h.example.com/cb?token=[Filtered]"
