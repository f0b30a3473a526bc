"""Free-text and URL redaction used by the Sentry hooks."""

from __future__ import annotations

import pytest

from reference_app.observability import FILTERED, redact_query, redact_text, redact_url

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


def test_query_without_names_is_filtered_whole() -> None:
    assert redact_query("a=1&b=") == "a=[Filtered]&b=[Filtered]"
    assert redact_query("s3cr3t-token") == FILTERED
    assert redact_query("") == ""
