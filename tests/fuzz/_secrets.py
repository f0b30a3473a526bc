"""Hypothesis strategies for secrets and PII, and a leak check over serialized bytes."""

from __future__ import annotations

import json
import re
import string
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from hypothesis import strategies as st

_ALNUM = string.ascii_letters + string.digits
# No whitespace and no delimiters of free text (& , ; " ' < > ) ] }): a scrubber that finds
# "password=<value>" can only know where the value ends at such a delimiter.
_PASSWORD_CHARS = _ALNUM + "!@#$%^*-_+=.?~/"


def _distinctive(text: str) -> bool:
    # Shrinking heads for "0000000000000000"; keep values that cannot match by accident.
    return len(set(text)) >= 5


tokens = st.builds(
    lambda prefix, body: prefix + body,
    st.sampled_from(["", "shpat_", "sk-", "ghp_", "xoxb-", "EAAB", "tok_"]),
    st.text(_ALNUM + "-_", min_size=16, max_size=48).filter(_distinctive),
)
api_keys = st.builds(
    lambda prefix, body: prefix + body,
    st.sampled_from(["", "sk-live-", "AKIA", "key_"]),
    st.text(_ALNUM, min_size=20, max_size=40).filter(_distinctive),
)
passwords = st.text(_PASSWORD_CHARS, min_size=10, max_size=32).filter(_distinctive)
otps = st.text(string.digits, min_size=6, max_size=8).filter(lambda o: len(set(o)) >= 3)
phones = st.builds(  # E.164: +, country code without a leading 0, at most 15 digits in all
    lambda cc, rest: f"+{cc}{rest}",
    st.integers(1, 999).map(str),
    st.text(string.digits, min_size=8, max_size=11),
).filter(lambda p: 10 <= len(p) - 1 <= 15)
_LABEL = st.text(string.ascii_lowercase + string.digits, min_size=2, max_size=12)
emails = st.builds(
    lambda first, rest, domain, tld: f"{first}{rest}@{domain}.{tld}",
    st.sampled_from(string.ascii_letters),
    st.text(_ALNUM + "._+-", min_size=2, max_size=20),
    _LABEL,
    st.sampled_from(["com", "org", "in", "co.uk", "io"]),
)

# Machine-made numbers (timestamps, durations, hex ids) are removed before looking for short
# numeric secrets (OTPs), so a 6-digit OTP cannot "leak" by matching microseconds.
_MACHINE_NUMBERS = re.compile(
    rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?"
    rb"|\b[0-9a-f]{16,32}\b|\d+\.\d+(?:e-?\d+)?"
)


def needles(value: str) -> set[bytes]:
    """The byte forms a value can take in a serialized envelope: raw, JSON-escaped,
    percent-encoded (path/query), form-encoded."""
    forms = {value, json.dumps(value)[1:-1], quote(value, safe=""), quote_plus(value)}
    return {form.encode() for form in forms if form}


def leaks(raw: bytes, secrets: Iterable[tuple[str, str]]) -> list[str]:
    """``kind`` of every secret found in ``raw`` (its value is never part of the answer)."""
    found = []
    cleaned = _MACHINE_NUMBERS.sub(b"#", raw)
    for kind, value in secrets:
        if value.isdigit():
            pattern = re.compile(rb"(?<!\d)" + re.escape(value.encode()) + rb"(?!\d)")
            if pattern.search(cleaned):
                found.append(kind)
        elif any(needle in raw for needle in needles(value)):
            found.append(kind)
    return found
