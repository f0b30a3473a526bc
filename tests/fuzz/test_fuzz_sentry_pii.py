"""PII fuzzing: secrets placed everywhere in a failing request never reach Sentry's wire format.

The real reference app (development mode, Sentry on) is built once for the module, with the
plugin's :class:`~pytest_hardening.SentryCapture` as its Sentry transport, so every check runs
through the app's own ``sentry_sdk.init`` options, scrubber and hooks. One extra route is mounted
on it that does what a buggy handler would: holds the secrets in local variables, writes them
into breadcrumbs and log lines, makes an outbound call with a key in the URL, then raises with
secrets in the exception message. Each example also sends the secrets to a real route
(``POST /api/calls``) in headers, the query string and the JSON body.

The assertion is on the raw serialized envelopes (what would go over the network), and is paired
with a positive one: the error event and the transactions are there.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from pytest_hardening import FaultInjector, SentryCapture, SentryGuard
from reference_app import create_app, fakes, load_settings
from reference_app.observability import add_breadcrumb
from reference_app.testing import DEV_ENV

from ._profiles import fuzz_settings
from ._secrets import (
    MARKER,
    api_keys,
    emails,
    leaks,
    numbers,
    otps,
    passwords,
    phones,
    tokens,
)

DSN = "https://fuzzpublickey@o1.ingest.example.com/1"
FAIL_PATH = "/api/fuzz/orders/{order_id}/fail"
logger = logging.getLogger("reference_app.fuzz")


class UpstreamRejected(RuntimeError):
    """What the failing route raises (a distinctive type for the positive assertion)."""


@dataclass(frozen=True)
class Secrets:
    token: str
    api_key: str
    password: str
    otp: str
    phone: str
    email: str

    def items(self) -> list[tuple[str, str]]:
        return list(vars(self).items())


secrets_strategy = st.builds(
    Secrets,
    token=tokens,
    api_key=api_keys,
    password=passwords,
    otp=otps,
    phone=phones,
    email=emails,
)

# Free text as developers write it: "<name>=<value>", "<name>: <value>", credentials after an
# auth scheme, bare emails and phone numbers. (A bare opaque token with no context cannot be told
# from any other identifier by a scrubber; those forms are out of scope here.)
TEXT_FORMS: tuple[str, ...] = (
    "api_key={api_key}",
    "apikey: {api_key}",
    "secret={api_key}",
    "token={token}",
    "access_token: {token}",
    "Authorization: Bearer {token}",
    "bearer {token}",
    "password={password}",
    "password: {password}",
    "otp={otp}",
    "OTP: {otp}",
    "reached {email}",
    "dialled {phone}",
    "callback for {phone} ({email})",
    # OTPs in prose and under compound names (gaps this fuzzing found, since fixed).
    "OTP {otp}",
    "your OTP is {otp}",
    "otp_code={otp}",
    "one-time code {otp}",
)
# Credential-carrying request headers, including names outside the SDK's exact-match denylist
# (X-Auth-Token & co. leaked verbatim until the app matched sensitive names by pattern).
HEADER_FORMS: dict[str, str] = {
    "Authorization": "Bearer {token}",
    "Proxy-Authorization": "Bearer {token}",
    "Cookie": "session={token}; csrftoken={api_key}",
    "X-Shopify-Access-Token": "{token}",
    "X-Shopify-Hmac-Sha256": "{api_key}",
    "X-Api-Key": "{api_key}",
    "X-Auth-Token": "{token}",
    "X-Access-Token": "{token}",
    "X-CSRF-Token": "{api_key}",
    "X-Session-Token": "{token}",
    "X-Amz-Security-Token": "{api_key}",
}
QUERY_FORMS: dict[str, str] = {
    "token": "{token}",
    "access_token": "{token}",
    "api_key": "{api_key}",
    "password": "{password}",
    "otp": "{otp}",
    "code": "{otp}",
    "email": "{email}",
    "phone": "{phone}",
    "q": "{email}",
    "ref": "{token}",
}
BODY_KEYS = ("password", "otp", "phone", "email", "api_key", "token", "note", "customer")


@dataclass(frozen=True)
class Plan:
    """Where this example puts its secrets."""

    secrets: Secrets
    headers: tuple[str, ...]
    query: tuple[str, ...]
    body: tuple[str, ...]
    crumb: str
    crumb_data_key: str
    log: str
    error: tuple[str, ...]


def _fill(form: str, secrets: Secrets) -> str:
    return form.format(**vars(secrets))


def _subset(options: Any, min_size: int = 1) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(
        st.sampled_from(sorted(options)), min_size=min_size, max_size=len(options), unique=True
    ).map(tuple)


plans = st.builds(
    Plan,
    secrets=secrets_strategy,
    headers=_subset(HEADER_FORMS),
    query=_subset(QUERY_FORMS),
    body=_subset(BODY_KEYS),
    crumb=st.sampled_from(TEXT_FORMS),
    # A value under its own kind of key: {"phone": <phone>}, {"api_key": <key>} ...
    crumb_data_key=st.sampled_from(["token", "api_key", "password", "otp", "phone", "email"]),
    log=st.sampled_from(TEXT_FORMS),
    error=_subset(TEXT_FORMS),
)


async def failing_endpoint(order_id: str, request: Request) -> None:
    """A handler with every PII mistake in the book (the app's Sentry setup must contain it)."""
    body = await request.json()
    # Local variables holding secrets: must not be sent as frame vars.
    password = body["password"]
    token = body["token"]
    otp = body["otp"]
    key = body["crumb_data_key"]
    add_breadcrumb(
        body["crumb"], data={key: body[key], "auth": f"Bearer {token}", "url": body["url"]}
    )
    logger.info(body["log"])
    logger.warning("verifying customer %s, otp=%s", body["email"], otp)
    http = request.app.state.services.http
    # An outbound call with a key in its query string: httpx breadcrumb + span.
    await http.get(body["url"])
    raise UpstreamRejected(f"upstream rejected order {order_id}: {body['error']} ({len(password)})")


@dataclass
class Harness:
    client: TestClient
    capture: SentryCapture

    def raw(self) -> bytes:
        return b"".join(envelope.serialize() for envelope in self.capture.envelopes)


def _dev_env(db_path: str) -> dict[str, str]:
    return {
        **DEV_ENV,
        "SENTRY_DSN": DSN,
        "DATABASE_URL": f"sqlite+aiosqlite:///{db_path}",
        "SHOPIFY_WEBHOOK_SECRET": "fuzz-webhook-secret",
    }


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    guard = SentryGuard().start()
    capture = SentryCapture()
    db = tmp_path_factory.mktemp("pii") / "calls.db"
    app: FastAPI = create_app(
        load_settings(_dev_env(str(db))),
        http_transport=httpx.MockTransport(FaultInjector(fakes.providers()).respond),
        sentry_transport=capture,
    )
    app.add_api_route(FAIL_PATH, failing_endpoint, methods=["POST"])
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            yield Harness(client, capture)
    finally:
        app.state.sentry.close(timeout=0.0)
        guard.stop()


def _send(harness: Harness, plan: Plan) -> None:
    s = plan.secrets
    headers = {name: _fill(HEADER_FORMS[name], s) for name in plan.headers}
    params = {name: _fill(QUERY_FORMS[name], s) for name in plan.query}
    values = vars(s)
    body: dict[str, Any] = {key: values.get(key, s.token) for key in plan.body}

    # 1. A real route: 401 (the fuzzed Authorization is no merchant key) or 422 (extra fields
    # are forbidden); its transaction carries the request.
    real = harness.client.post("/api/calls", params=params, headers=headers, json=body)
    assert real.status_code in (401, 422), real.text
    # 401/422 bodies must not echo the submitted values either.
    assert not leaks(real.content, s.items()), real.text

    # 2. The failing route, with the secrets also in breadcrumbs, logs, locals and the message.
    failing = {
        **body,
        **values,
        "crumb": _fill(plan.crumb, s),
        "crumb_data_key": plan.crumb_data_key,
        "url": f"https://api.openai.com/v1/models?api_key={s.api_key}&user={s.email}",
        "log": _fill(plan.log, s),
        "error": "; ".join(_fill(form, s) for form in plan.error),
    }
    response = harness.client.post(
        "/api/fuzz/orders/1001/fail", params=params, headers=headers, json=failing
    )
    assert response.status_code == 500
    assert response.json() == {"detail": "internal server error"}  # no trace to the client


def _exceptions(event: dict[str, Any]) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = event.get("exception", {}).get("values", [])
    return values


def _assert_captured(harness: Harness) -> None:
    events = harness.capture.events
    errors = [
        e
        for e in events
        if any(
            v.get("type") == "UpstreamRejected" for v in e.get("exception", {}).get("values", [])
        )
    ]
    assert errors, (
        f"the failing request produced no error event; captured: {harness.capture.summary()}"
    )
    event = errors[0]
    value = event["exception"]["values"][-1]["value"]
    assert value.startswith("upstream rejected order 1001: ")
    assert "[Filtered]" in value
    assert event["request"]["url"].endswith("/api/fuzz/orders/1001/fail")
    names = {t.get("transaction") for t in harness.capture.transactions}
    assert {"/api/calls", FAIL_PATH} <= names, names


@pytest.mark.slow(seconds=4)
@fuzz_settings()
@given(plan=plans)
def test_secrets_in_a_failing_request_never_reach_sentry(harness: Harness, plan: Plan) -> None:
    harness.capture.clear()
    _send(harness, plan)
    _assert_captured(harness)
    leaked = leaks(harness.raw(), plan.secrets.items())
    assert leaked == [], (
        f"secret kinds {leaked} reached the serialized Sentry envelopes "
        f"(placed in headers {plan.headers}, query {plan.query}, breadcrumb {plan.crumb!r}, "
        f"log {plan.log!r}, error {plan.error})"
    )


def test_no_fixed_text_can_pass_for_a_secret(harness: Harness) -> None:
    """The guard behind every leak report: with placeholder values (no marker, no OTP-sized
    number, no phone) the request's fixed text, the answers and the envelopes hold nothing a
    generated secret could match, so a secret found by the fuzz test is always a real leak."""
    placeholder = Secrets(
        token="placeholder-token",
        api_key="placeholder-key",
        password="placeholder-password",
        otp="placeholder-otp",
        phone="placeholder-phone",
        email="placeholder-email",
    )
    plan = Plan(
        secrets=placeholder,
        headers=tuple(HEADER_FORMS),
        query=tuple(QUERY_FORMS),
        body=BODY_KEYS,
        crumb=TEXT_FORMS[0],
        crumb_data_key="otp",
        log=TEXT_FORMS[-1],
        error=TEXT_FORMS,
    )
    harness.capture.clear()
    _send(harness, plan)
    _assert_captured(harness)
    fixed = repr((DSN, FAIL_PATH, "/api/calls", TEXT_FORMS, HEADER_FORMS, QUERY_FORMS, BODY_KEYS))
    raw = harness.raw()
    assert MARKER not in fixed
    assert MARKER.encode() not in raw
    found = numbers(raw, range(6, 9))
    where = [raw[max(0, raw.find(n) - 60) : raw.find(n) + 30] for n in found[:2]]
    assert found == [], f"a number an OTP could be mistaken for, in: {where}"
    assert not re.search(rb"(?:\+|%2B)\d{10}", raw), "a number a phone could be mistaken for"


@fuzz_settings()
@given(value=st.one_of(tokens, api_keys, passwords, emails))
def test_generated_secrets_carry_the_marker_and_a_length_floor(value: str) -> None:
    assert MARKER in value
    assert len(value.split(MARKER, 1)[1]) >= 2  # emails: rest@domain.tld; others: MIN_BODY
