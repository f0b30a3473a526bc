"""Redaction of PII and secrets inside free text and URLs, for what the SDK's key-based
EventScrubber cannot see: messages, exception values, breadcrumb messages, query strings.

Phone numbers (E.164 and common national formats), email addresses, bearer/basic credentials,
``key=value`` pairs whose key looks secret, and every query-string value are replaced by the
SDK's own ``[Filtered]`` marker.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

FILTERED = "[Filtered]"  # the marker sentry_sdk's EventScrubber uses
MAX_TEXT = 16_384
TRUNCATED = "…[truncated]"

# A key/header/parameter name is sensitive when it *contains* one of these words, so variants
# outside any exact denylist are caught too: x-auth-token, x-amz-security-token, otp_code,
# db_password, client-secret.
SENSITIVE_NAME = re.compile(
    r"(?i)token|secret|passw|pwd|auth(?!or(?:s|ed|ing|ship)?\b)|api[-_]?key|apikey|session|"
    r"signature|hmac|cookie|csrf|xsrf|credential|otp|private[-_]?key|dsn|bearer"
)
# name = value / name: value / "name": "value", where the name is judged by SENSITIVE_NAME. The
# value is matched separately so a harmless "order 1001: access_token: x" doesn't swallow the
# sensitive pair that follows it.
_KEY_SEPARATOR = re.compile(r"(?<![\w.-])([\w.-]{1,64})([\"']?\s*[=:]\s*)")
# A value already redacted ("[Filtered]", whose "]" would otherwise end the value) is consumed
# whole, so redacting twice reads the same as once.
_VALUE = re.compile(r"\"[^\"]*\"|'[^']*'|\[Filtered\][^\s&,;\"'<>)\]}]*|[^\s&,;\"'<>)\]}]+")
# OTPs written as prose: "OTP 482913", "your OTP is 482913", "one-time code 482913".
_OTP_PROSE = re.compile(
    r"(?i)\b(otp|one[- ]time[- ](?:password|passcode|code|pin)|verification[- ]code|passcode|"
    r"security[- ]code|pin)\b([^\d\n]{0,16}?)(?<!\d)\d{4,8}(?!\d)"
)
_NAME = re.compile(r"^[A-Za-z0-9_.\-\[\]%]{1,64}$")
# "code" is an OAuth credential in code=..., but "status code: 503" must survive.
_CODE_PARAM = re.compile(
    r"(?i)(?<![\w-])(code=)(?:\[Filtered\][^\s&,;\"'<>)\]}]*|[^\s&,;\"'<>)\]}]+)"
)
_CREDENTIALS = re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}")
# Credential-shaped values wherever they appear, whatever the header or key is called: JWTs
# (X-Goog-IAP-JWT-Assertion, Cf-Access-Jwt-Assertion, X-Amzn-Oidc-Data), base64 JSON blobs
# (X-Ms-Client-Principal: "eyJ..."), vendor key prefixes, and long random-looking tokens (32+
# characters mixing upper and lower case and digits, no separators: hex ids, trace ids and
# dashed UUIDs stay readable).
_SHAPED = re.compile(
    r"(?<![A-Za-z0-9_+/=-])(?:"
    r"eyJ[A-Za-z0-9_+/=-]{8,}(?:\.[A-Za-z0-9_+/=-]*){0,2}"
    r"|(?:sk|rk|pk)[-_](?:live[-_]|test[-_]|proj[-_])?[A-Za-z0-9_-]{12,}"
    r"|(?:shpat|shpss|shpca|shppa)_[A-Fa-f0-9]{16,}"
    r"|(?:ghp|gho|ghs|xox[bpas])[-_][A-Za-z0-9-]{10,}"
    r"|AKIA[0-9A-Z]{16}|AIza[0-9A-Za-z_-]{30,}|GOCSPX-[A-Za-z0-9_-]{10,}"
    r"|(?=[A-Za-z0-9_+/=]{0,200}[0-9])(?=[A-Za-z0-9_+/=]{0,200}[a-z])"
    r"(?=[A-Za-z0-9_+/=]{0,200}[A-Z])[A-Za-z0-9_+/=]{32,}"
    r")(?![A-Za-z0-9_+/=-])"
)
# Every pattern that starts with a repeated class has a lookbehind excluding that class, so a
# match can only begin at the start of a run: linear time on long tokens instead of quadratic.
_URL = re.compile(r"(?i)(?<![a-z0-9+.-])[a-z][a-z0-9+.-]*://[^\s\"'<>]+")
# Local part: RFC 5322 "atext" characters and dots; domain: labels (IDNs included via \w).
_EMAIL = re.compile(r"(?i)(?<![\w!#$%&'*+/=?^`{|}~.-])[\w!#$%&'*+/=?^`{|}~.-]+@[\w-]+(?:\.[\w-]+)+")
# International: "+" (or its URL encoding) then 7-15 digits with optional separators; the "+"
# is a strong signal, so letters may follow. National forms, stricter about their neighbours:
# (555) 123-4567, 555.123.4567, 555-123-4567, 098765 43210, 07700 900123, and bare runs of 10-15
# digits (Indian mobiles are often written bare). Matches with fewer than 9 digits (8 after "+")
# are kept, so dates, times, versions and small numbers survive.
_PHONE = re.compile(
    r"(?<![\d+])(?:\+|%2[Bb])\d(?:[\s().-]{0,2}\d){6,14}(?!\d)"
    r"|(?<![\w+.:-])(?:"
    r"\(\d{2,5}\)\s?\d{3,5}[\s-]?\d{3,5}"
    r"|\d{3}\.\d{3}\.\d{4}"
    r"|\d{2,6}[\s-]\d{3,6}(?:[\s-]\d{3,6})?"
    r"|\d{10,15}"
    r")(?![\w-]|\.\d)"
)


def is_sensitive_name(name: str) -> bool:
    """Whether a header, key or parameter name looks like it holds a credential."""
    return SENSITIVE_NAME.search(name) is not None


def _redact_key_values(text: str) -> str:
    pieces: list[str] = []
    pos = 0
    while (match := _KEY_SEPARATOR.search(text, pos)) is not None:
        pieces.append(text[pos : match.end()])
        pos = match.end()
        if is_sensitive_name(match.group(1)):
            value = _VALUE.match(text, pos)
            if value is not None:
                pieces.append(FILTERED)
                pos = value.end()
    pieces.append(text[pos:])
    return "".join(pieces)


def _phone(match: re.Match[str]) -> str:
    found = match.group(0)
    digits = sum(ch.isdigit() for ch in found)
    international = found.startswith(("+", "%"))
    return FILTERED if digits >= (8 if international else 9) else found


def redact_query(query: str) -> str:
    """Keep parameter names, filter every value: ``code=abc&state=x`` → ``code=[Filtered]&...``.

    Unlike ``sentry_sdk.utils.sanitize_url``, a segment without ``=`` (``?<token>``) is filtered
    whole instead of being kept as a "name".
    """
    if not query:
        return query
    segments = []
    for segment in query.replace(";", "&").split("&"):
        key, sep, _ = segment.partition("=")
        segments.append(f"{key}={FILTERED}" if sep and _NAME.match(key) else FILTERED)
    return "&".join(segments)


def redact_url(url: str) -> str:
    """Drop userinfo and filter query values and the fragment; scheme, host and path stay,
    but for a path segment that is itself a secret, an email or a phone number. Judged segment
    by segment: ``/`` is in the base64 alphabet, and a whole path such as
    ``/v1/Accounts/acme123/Calls/connect`` would otherwise pass for one long token."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text_plain(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit(
        (
            parts.scheme,
            netloc,
            "/".join(redact_text_plain(segment) for segment in parts.path.split("/")),
            redact_query(parts.query),
            FILTERED if parts.fragment else "",
        )
    )


def redact_text_plain(text: str) -> str:
    """Secrets, emails and phone numbers in text that is not a URL."""
    text = _CREDENTIALS.sub(lambda m: f"{m.group(1)} {FILTERED}", text)
    text = _SHAPED.sub(FILTERED, text)
    text = _redact_key_values(text)
    text = _OTP_PROSE.sub(lambda m: m.group(1) + m.group(2) + FILTERED, text)
    text = _CODE_PARAM.sub(lambda m: m.group(1) + FILTERED, text)
    text = _EMAIL.sub(FILTERED, text)
    return _PHONE.sub(_phone, text)


def redact_text(text: str) -> str:
    """Free text (messages, exception values): URLs first, then everything else.

    Text beyond ``MAX_TEXT`` characters is cut off (marked ``[truncated]``): it bounds the work
    per event, and nothing that long is readable in an error report anyway.
    """
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + TRUNCATED
    pieces: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        pieces.append(redact_text_plain(text[last : match.start()]))
        pieces.append(redact_url(match.group(0)))
        last = match.end()
    pieces.append(redact_text_plain(text[last:]))
    return "".join(pieces)


#: Texts longer than this are not remembered (each remembered text is kept until a clear).
_REMEMBER_CHARS = 1_024


class Redactor:
    """:func:`redact_text` and :func:`redact_url` that remember which texts they found clean.

    An app's events repeat the same strings on every request: SQL statements, span names,
    provider URLs. Each is seven regular-expression passes; a remembered one is a set lookup.
    Only a text that redaction leaves unchanged is remembered, so the memory never holds
    anything redaction would filter. It is bounded: once ``remember`` texts of a kind are held it
    is emptied and refills with what recurs (a flood of one-off texts cannot pin it). One per
    app; safe across threads (set operations under the GIL; a lost add only costs a recompute).
    """

    __slots__ = ("_clean_texts", "_clean_urls", "_remember")

    def __init__(self, remember: int = 2_048) -> None:
        self._remember = remember
        self._clean_texts: set[str] = set()
        self._clean_urls: set[str] = set()

    def text(self, text: str) -> str:
        """:func:`redact_text`, answered from memory for a text already found clean."""
        return self._answer(self._clean_texts, redact_text, text)

    def url(self, url: str) -> str:
        """:func:`redact_url`, answered from memory for a URL already found clean."""
        return self._answer(self._clean_urls, redact_url, url)

    def _answer(self, clean: set[str], redact: Callable[[str], str], text: str) -> str:
        if text in clean:
            return text
        redacted = redact(text)
        if redacted == text and len(text) <= _REMEMBER_CHARS:
            if len(clean) >= self._remember:
                clean.clear()
            clean.add(text)
        return redacted
