"""SentryCapture as a transport, attached to an existing client, and SentryGuard."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote, quote_plus, urlencode

import pytest
import sentry_sdk

from pytest_hardening import SentryCapture, SentryGuard

DSN = "https://public@sentry.example/1"


@pytest.fixture
def guard() -> SentryGuard:
    guard = SentryGuard().start()
    yield guard
    guard.stop()


def test_capture_as_transport(guard: SentryGuard) -> None:
    capture = SentryCapture()
    sentry_sdk.init(dsn=DSN, transport=capture, default_integrations=False)
    sentry_sdk.set_tag("area", "billing")
    try:
        raise KeyError("customer 42")
    except KeyError:
        sentry_sdk.capture_exception()
    sentry_sdk.add_breadcrumb(category="db", message="select 1")
    sentry_sdk.capture_message("hello there")
    event = capture.assert_captured(KeyError, area="billing")
    assert [c["message"] for c in capture.breadcrumbs] == ["select 1"]
    assert event["exception"]["values"][-1]["value"] == "'customer 42'"
    assert capture.assert_captured(message="hello")["message"] == "hello there"
    assert len(capture.events) == 2


def test_attach_swaps_the_transport_of_the_active_client(guard: SentryGuard) -> None:
    sentry_sdk.init(dsn=DSN, default_integrations=False)
    original = sentry_sdk.get_client().transport
    capture = SentryCapture()
    assert capture.attach()
    assert sentry_sdk.get_client().transport is capture
    assert original is not capture
    sentry_sdk.capture_message("routed")
    assert [e["message"] for e in capture.events] == ["routed"]


def test_attach_without_a_client_reports_false(guard: SentryGuard) -> None:
    sentry_sdk.get_global_scope().set_client(None)
    assert SentryCapture().attach() is False


def test_assert_captured_failure_lists_what_was_seen(guard: SentryGuard) -> None:
    capture = SentryCapture()
    sentry_sdk.init(dsn=DSN, transport=capture, default_integrations=False)
    sentry_sdk.capture_message("only this")
    with pytest.raises(AssertionError) as info:
        capture.assert_captured(ValueError)
    assert "exception ValueError" in str(info.value)
    assert "only this" in str(info.value)


class _Outer:
    class Failed(Exception):
        """Sentry names it by its qualified name, ``_Outer.Failed``."""


#: Two SDKs' exceptions of the same name (``openai.APITimeoutError``, ``anthropic.``'s).
_VendorTimeout = type("APITimeoutError", (Exception,), {"__module__": "vendor_a"})
_OtherTimeout = type("APITimeoutError", (Exception,), {"__module__": "vendor_b"})
_OtherSlowTimeout = type("SlowTimeout", (_OtherTimeout,), {"__module__": "vendor_b.errors"})


def _report(error: BaseException) -> None:
    try:
        raise error
    except BaseException:
        sentry_sdk.capture_exception()


def test_assert_captured_matches_a_class_as_except_does(guard: SentryGuard) -> None:
    # A trial's: assert_captured(ValueError) missed a json.JSONDecodeError event, and
    # assert_captured(openai.APITimeoutError) took an anthropic.APITimeoutError event for it.
    capture = SentryCapture()
    sentry_sdk.init(dsn=DSN, transport=capture, default_integrations=False)
    try:
        json.loads('{"a": "cut')
    except ValueError:
        sentry_sdk.capture_exception()
    _report(_OtherSlowTimeout("read timed out"))
    _report(_Outer.Failed("nested"))
    for cls in (json.JSONDecodeError, ValueError, Exception, _OtherTimeout, _Outer.Failed):
        capture.assert_captured(cls)
    capture.assert_captured("JSONDecodeError")  # a string: the type's name, as before
    with pytest.raises(AssertionError) as info:
        capture.assert_captured(_VendorTimeout, message="read timed out")
    said = str(info.value)
    assert "exception vendor_a.APITimeoutError (or a subclass)" in said
    assert "vendor_b.errors.SlowTimeout: read timed out" in said  # what was there instead
    assert "none of these matches" in said
    assert "sentry_sdk.init" not in said  # events arrived: Sentry was initialised


def test_assert_captured_takes_a_string_as_the_failure_lists_the_exception(
    guard: SentryGuard,
) -> None:
    # A trial's: assert_captured("test_dotted.QuotaError") failed, listing the event it had
    # captured as "[error] test_dotted.QuotaError: over quota".
    capture = SentryCapture()
    sentry_sdk.init(dsn=DSN, transport=capture, default_integrations=False)
    _report(_OtherSlowTimeout("read timed out"))
    _report(_Outer.Failed("nested"))
    _report(KeyError("k"))
    for name in ("vendor_b.errors.SlowTimeout", "SlowTimeout", "KeyError"):
        capture.assert_captured(name)
    capture.assert_captured(f"{__name__}._Outer.Failed")  # a nested class: its qualified name
    capture.assert_captured("_Outer.Failed")
    listed = [line.split("]", 1)[1].split(":", 1)[0].strip() for line in capture.summary()]
    for name in listed:  # every name the listing shows matches its event
        capture.assert_captured(name)
    for not_it in ("vendor_b.SlowTimeout", "errors.SlowTimeout", "vendor_b.errors.APITimeoutError"):
        with pytest.raises(AssertionError) as info:
            capture.assert_captured(not_it)
    said = str(info.value)
    assert "vendor_b.errors.SlowTimeout: read timed out" in said
    assert "a string, the exception's name alone (QuotaError) or with its module" in said


def test_assert_captured_lists_one_line_per_event(guard: SentryGuard) -> None:
    capture = SentryCapture()
    with pytest.raises(AssertionError, match=r"did the app call sentry_sdk\.init"):
        capture.assert_captured(KeyError)  # nothing captured: the init is what to check
    sentry_sdk.init(dsn=DSN, transport=capture, default_integrations=False)
    sentry_sdk.capture_message("upstream failed\nTraceback (most recent call last):\n  ...")
    sentry_sdk.capture_message("x" * 200)
    with pytest.raises(AssertionError) as info:
        capture.assert_captured(KeyError)
    listed = str(info.value).splitlines()[1:3]
    assert listed == [
        "  [info] upstream failed \u2026 tags={}",
        f"  [info] {'x' * 119}\u2026 tags={{}}",
    ]


def test_assert_no_secrets_finds_leaks_without_printing_them(guard: SentryGuard) -> None:
    capture = SentryCapture()
    with pytest.raises(AssertionError, match="captured nothing"):
        capture.assert_no_secrets("tok_123456")
    sentry_sdk.init(dsn=DSN, transport=capture, default_integrations=False)
    sentry_sdk.set_extra("note", {"header": "Bearer tok_123456"})
    sentry_sdk.capture_message("request failed")
    capture.assert_no_secrets("other-value")
    with pytest.raises(AssertionError) as info:
        capture.assert_no_secrets("tok_123456")
    assert "extra.note.header" in str(info.value)
    assert "tok_123456" not in str(info.value)


def test_assert_no_secrets_names_every_place_a_secret_reached(guard: SentryGuard) -> None:
    # One place per secret: a fix, a run, the next place (a trial's app leaked a token in
    # stack variables, breadcrumbs and messages at once).
    capture = SentryCapture()
    sentry_sdk.init(dsn=DSN, transport=capture, default_integrations=False)
    sentry_sdk.add_breadcrumb(message="GET https://api.telegram.org/bottok_123456/send")
    sentry_sdk.set_extra("settings", {"token": "tok_123456"})
    sentry_sdk.capture_message("request failed")
    sentry_sdk.capture_message("token tok_123456 refused")
    with pytest.raises(AssertionError) as info:
        capture.assert_no_secrets("tok_123456")
    said = str(info.value)
    for place in (
        "envelope 0: event.breadcrumbs.values[0].message",
        "envelope 0: event.extra.settings.token",
        "envelope 1: event.message",
    ):
        assert place in said
    assert "tok_123456" not in said


def test_assert_no_secrets_finds_a_secret_percent_encoded_in_a_url(guard: SentryGuard) -> None:
    # A trial's: a refresh token reached Sentry inside a redirect URL, encoded, and passed.
    token = "1//0gS3cr3t+Refresh/Token=="
    capture = SentryCapture()
    sentry_sdk.init(dsn=DSN, transport=capture, default_integrations=False)
    sentry_sdk.add_breadcrumb(message=f"GET https://app.example/cb?{urlencode({'t': token})}")
    sentry_sdk.set_tag("next", f"/cb?t={quote(token, safe='')}")
    sentry_sdk.capture_message("callback failed")
    with pytest.raises(AssertionError) as info:
        capture.assert_no_secrets(token)
    said = str(info.value)
    assert "event.breadcrumbs.values[0].message" in said
    assert "event.tags.next" in said
    assert quote_plus(token) not in said
    assert token not in said


@pytest.mark.parametrize("user", ["shop", "shop-1", "merchant-account-42"])
def test_assert_no_secrets_finds_a_secret_base64_encoded_in_basic_auth(
    guard: SentryGuard, user: str
) -> None:
    # A trial's: a provider's Basic auth header (base64 of "shop:secret") reached Sentry in a
    # frame's locals, and assert_no_secrets(secret) passed. Whatever the user's length, the
    # secret's bytes sit at one of base64's three offsets.
    secret = "live_Zq8v3LmT1pXk9RwB4nYc7HsJ"
    capture = SentryCapture()
    sentry_sdk.init(dsn=DSN, transport=capture, default_integrations=False)
    header = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()
    sentry_sdk.set_extra("headers", {"Authorization": header})
    sentry_sdk.capture_message("payment failed")
    with pytest.raises(AssertionError, match=r"in envelope 0: event\.extra\.headers"):
        capture.assert_no_secrets(secret)
    capture.assert_no_secrets("live_0000000000000000000000")  # another value: no leak


def test_the_dsns_public_key_in_the_sdks_envelope_header_is_not_a_leak(
    guard: SentryGuard,
) -> None:
    # The SDK writes it into every envelope's header; no before_send can remove it, and Sentry
    # designs it to be public. The same key inside an event is still reported.
    key = "0123456789abcdef0123456789abcdef"
    sentry_sdk.init(dsn=f"https://{key}@o1.ingest.sentry.io/42", default_integrations=False)
    capture = SentryCapture()
    assert capture.attach()  # as the harness does with the app's own client
    sentry_sdk.capture_message("hello")
    assert key.encode() in capture.envelopes[0].serialize()  # where the SDK put it
    capture.assert_no_secrets(key)
    sentry_sdk.capture_message(f"dsn key {key}")
    with pytest.raises(AssertionError, match=r"secret 1 of 1 given \(32 chars\) in ") as raised:
        capture.assert_no_secrets(key)
    assert key[:2] not in str(raised.value)  # nothing of the value, not even its start
    # which value leaked, counted as written in the call (the value is never shown)
    with pytest.raises(AssertionError, match=r"secret 2 of 2 given \(32 chars\) in "):
        capture.assert_no_secrets("not-sent-anywhere", key)


def test_guard_restores_client_and_scopes() -> None:
    before = sentry_sdk.get_global_scope().client
    guard = SentryGuard().start()
    capture = SentryCapture()
    sentry_sdk.init(dsn=DSN, transport=capture, default_integrations=False)
    sentry_sdk.set_tag("leaky", "yes")
    app_client = sentry_sdk.get_client()
    guard.stop()
    assert sentry_sdk.get_global_scope().client is before
    assert not app_client.is_active() or app_client.transport is None  # closed
    assert "leaky" not in sentry_sdk.get_isolation_scope()._tags


def test_guard_never_touches_a_client_that_existed_before() -> None:
    outer = SentryGuard().start()
    try:
        user_capture = SentryCapture()
        sentry_sdk.init(dsn=DSN, transport=user_capture, default_integrations=False)
        guard = SentryGuard().start()
        assert guard.created_client() is None
        assert guard.capture_into(SentryCapture()) is False
        guard.stop()
        assert sentry_sdk.get_client().transport is user_capture
        assert sentry_sdk.get_client().is_active()
    finally:
        outer.stop()


def test_the_json_report_keeps_what_the_apps_events_said_of_its_users_out(
    guard: SentryGuard,
) -> None:
    # --hardening-report is a CI artifact: it repeated the addresses the app leaked.
    from pytest_hardening._report import TestRecord

    capture = SentryCapture()
    sentry_sdk.init(dsn=DSN, transport=capture, default_integrations=False)
    sentry_sdk.capture_message(
        "Failed to send email to jane.doe@example.com, phone +91 98765 43210"
    )
    record = TestRecord("test_signup")
    record.add_sentry(capture)
    assert record.sentry_events == [
        "[info] Failed to send email to <email>, phone <number> tags={}"
    ]


def test_a_place_keyed_by_an_objects_repr_is_shown_without_its_address(
    guard: SentryGuard,
) -> None:
    # A trial's: FastAPI's dependency_cache, keyed by objects, put "<... object at 0x7f07...>"
    # into the path, another one at each run.
    sentry_sdk.init(dsn=DSN, default_integrations=False)
    capture = SentryCapture()
    assert capture.attach()
    token = "gho_0123456789abcdefghijklmnopqrstuv"
    key = f"(<app.github.Session object at 0x{id(capture):x}>, ())"
    sentry_sdk.capture_event({"message": "x", "extra": {"cache": {key: {"token": token}}}})
    with pytest.raises(AssertionError) as raised:
        capture.assert_no_secrets(token)
    said = str(raised.value)
    assert "event.extra.cache.(<app.github.Session>, ()).token" in said
    assert "0x" not in said
