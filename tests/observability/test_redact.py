"""Free-text and URL redaction used by the Sentry hooks."""

from __future__ import annotations

import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference_app.observability import FILTERED, Redactor, redact_query, redact_text, redact_url

PII = [
    "+919876543210",
    "+91 98765 43210",
    "+91-98765-43210",
    "+1 (415) 555-2671",
    "+44 20 7946 0958",
    "(415) 555-2671",
    "415-555-2671",
    "415.555.2671",
    "9876543210",
    "098765 43210",
    "07700 900123",
    "%2B919876543210",
    "jane.doe+calls@example.co.uk",
]


@pytest.mark.parametrize("value", PII)
def test_phone_numbers_and_emails_are_filtered(value: str) -> None:
    redacted = redact_text(f"calling {value} now")
    assert value not in redacted
    assert redacted == f"calling {FILTERED} now"


@pytest.mark.parametrize(
    "text",
    [
        "status code: 503",
        "retry 3 of 5 after 1234 ms",
        "at 2026-11-26T14:06:22.123456Z",
        "sdk 2.75.0, port 8080, 12.345678 s",
        "trace 4bf92f3577b34da6a3ce929d0e0e4736",
        "call 123e4567-e89b-12d3-a456-426614174000",
        "order 1001 confirmed",
        "author: Jane, retry_after=30, status: 503",
    ],
)
def test_ordinary_text_survives(text: str) -> None:
    assert redact_text(text) == text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi.abc.def"),
        ("api_key=sk-live-123 rejected", "sk-live-123"),
        ('{"password": "hunter2!"}', "hunter2!"),
        ("otp: 482913", "482913"),
        ("client_secret='s3cr3t-value'", "s3cr3t-value"),
        ("x-shopify-access-token=shpat_abc123", "shpat_abc123"),
        ("redirect?code=4/0AXcode&state=xyz", "4/0AXcode"),
        ("otp_code=482913", "482913"),
        ("db_password=hunter22; retry=1", "hunter22"),
        ("X-Amz-Security-Token: FwoGZXIvYXdz", "FwoGZXIvYXdz"),
        ("OTP 482913", "482913"),
        ("your OTP is 482913", "482913"),
        ("one-time code 482913", "482913"),
        ("PIN: 4821", "4821"),
        ("authorization=abc123def", "abc123def"),
        # A harmless "name: value" just before must not hide the sensitive pair.
        ("rejected order 1001: access_token: 0000000000001234 (10)", "0000000000001234"),
        ("a=1&b=2, token=tok3n-Value", "tok3n-Value"),
    ],
)
def test_credentials_in_text_are_filtered(text: str, secret: str) -> None:
    assert secret not in redact_text(text)


def test_urls_keep_shape_but_lose_credentials_query_values_and_fragment() -> None:
    url = "https://user:pw@api.example.com/v1/calls?token=abc&page=2#access_token=xyz"
    assert (
        redact_url(url)
        == "https://api.example.com/v1/calls?token=[Filtered]&page=[Filtered]#[Filtered]"
    )
    assert redact_text(f"GET {url} failed") == f"GET {redact_url(url)} failed"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # A provider's own path stays readable: which endpoint failed is what a report is for.
        ("/v1/Accounts/acme123/Calls/connect.json", "/v1/Accounts/acme123/Calls/connect.json"),
        ("/admin/api/2024-01/orders/5521.json", "/admin/api/2024-01/orders/5521.json"),
        # A segment that is itself a secret, an email or a phone number does not.
        ("/reset/Zq8v2LmN4pR7sT1uW3yA5bC6dE9fG0hJ", "/reset/[Filtered]"),
        ("/customers/+919876543210/orders", "/customers/[Filtered]/orders"),
        ("/users/jane.doe@example.com", "/users/[Filtered]"),
    ],
)
def test_url_paths_are_judged_segment_by_segment(path: str, expected: str) -> None:
    assert redact_url(f"https://api.example.com{path}") == f"https://api.example.com{expected}"


def test_query_without_names_is_filtered_whole() -> None:
    assert redact_query("a=1&b=") == "a=[Filtered]&b=[Filtered]"
    assert redact_query("s3cr3t-token") == FILTERED
    assert redact_query("") == ""


WORDS = st.sampled_from(["call", "to", "failed", "order", "for", "(", ")", ":", ",", "user", "\n"])
ATEXT = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#$%&'*+/=?^_`{|}~-"
LABEL = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=10)
# Cheaper than st.emails() (this runs in every CI build) but covers the same local-part alphabet.
EMAILS = st.builds(
    lambda local, labels, tld: f"{local}@{'.'.join(labels)}.{tld}",
    st.text(alphabet=ATEXT, min_size=1, max_size=20),
    st.lists(LABEL, min_size=1, max_size=3),
    st.sampled_from(["com", "org", "co.uk", "in", "AC"]),
)
PHONES = st.builds(
    lambda cc, rest: f"+{cc}{rest}",
    st.integers(1, 999),
    st.text(alphabet="0123456789", min_size=7, max_size=12),
)


@settings(max_examples=200, deadline=None)
@given(email=EMAILS, phone=PHONES, before=WORDS, after=WORDS)
def test_generated_emails_and_e164_numbers_never_survive(
    email: str, phone: str, before: str, after: str
) -> None:
    text = f"{before} {email} {after} {phone}{after}"
    redacted = redact_text(text)
    assert email not in redacted
    assert phone not in redacted
    assert redacted.startswith(before)  # the text around them is kept


def test_very_long_text_is_truncated_after_redaction_of_what_is_kept() -> None:
    phone = "+919876543210"
    text = f"failed for {phone} " + "x" * 50_000 + f" {phone}"
    redacted = redact_text(text)
    assert phone not in redacted
    assert redacted.startswith(f"failed for {FILTERED} x")
    assert redacted.endswith("…[truncated]")
    assert len(redacted) < 17_000


@pytest.mark.parametrize(
    "text",
    [
        "token=abc123",
        "password: hunter2",
        '{"api_key": "k-1"}',
        "code=xyz&state=s",
        "Authorization: Bearer abcdef123456",
        "call +919876543210 about OTP 482913",
        "https://u:p@h.example.com/cb?token=t#frag",
    ],
)
def test_redacting_twice_reads_as_once(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once
    assert "]]" not in redact_text(once)
    assert redact_url(redact_url(text)) == redact_url(text)


@given(st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_redaction_is_idempotent_on_any_text(text: str) -> None:
    once = redact_text(text)
    assert redact_text(once) == once


CLEAN = [
    "BEGIN IMMEDIATE",
    'PRAGMA main.table_info("calls")',
    "status code: 503",
    "https://api.openai.com/v1/chat/completions",
]
DIRTY = [
    "call +919876543210 about OTP 482913",
    "https://u:p@h.example.com/cb?token=t#frag",
    "Authorization: Bearer abcdef123456",
]


def test_a_redactor_answers_as_redaction_does_whatever_it_remembers() -> None:
    redactor = Redactor()
    for _ in range(3):  # the second and third rounds answer clean texts from memory
        for text in [*CLEAN, *DIRTY]:
            assert redactor.text(text) == redact_text(text)
            assert redactor.url(text) == redact_url(text)
    for text in DIRTY:  # never remembered as clean: filtered every time
        assert FILTERED in redactor.text(text)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from([*CLEAN, *DIRTY]) | st.text(max_size=30), max_size=40))
def test_a_small_redactor_stays_exact_across_forgetting(texts: list[str]) -> None:
    redactor = Redactor(remember=2)  # emptied again and again
    for text in texts:
        assert redactor.text(text) == redact_text(text)
        assert redactor.url(text) == redact_url(text)


def test_a_redactor_memory_is_bounded_under_a_flood_of_one_off_texts() -> None:
    redactor = Redactor(remember=64)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(5_000):  # ~0.8 MB of distinct clean texts if all were kept
            redactor.text(f"one-off text number {i:06} " + "x" * 120)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 200_000, f"expected a bounded memory; it grew by {grown} bytes"
