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

#: Every generated token, API key, password and email (local part) starts with this marker and
#: has at least MIN_BODY characters after it. The marker occurs nowhere in the app, the request's
#: fixed text or an envelope (``test_no_fixed_text_can_pass_for_a_secret`` checks), so a secret
#: found in the output was put there by the secret, never by coincidence. Without it Hypothesis,
#: which also draws string constants from the code under test, generated ``/api/calls`` (the
#: request's own path) as a password and reported a leak.
MARKER = "Qx9Z"
MIN_BODY = 8


def _marked(body: st.SearchStrategy[str], prefixes: list[str]) -> st.SearchStrategy[str]:
    return st.builds(lambda prefix, rest: prefix + MARKER + rest, st.sampled_from(prefixes), body)


tokens = _marked(
    st.text(_ALNUM + "-_", min_size=MIN_BODY + 4, max_size=40),
    ["", "shpat_", "sk-", "ghp_", "xoxb-", "EAAB", "tok_"],
)
api_keys = _marked(
    st.text(_ALNUM, min_size=MIN_BODY + 8, max_size=36), ["", "sk-live-", "AKIA", "key_"]
)
passwords = _marked(st.text(_PASSWORD_CHARS, min_size=MIN_BODY, max_size=28), [""])
# Digits only, so no marker: 6-8 digits with a leading non-zero digit and >= 3 distinct ones,
# matched by leaks() only as a whole number once machine-made numbers are removed. The request
# holds no other number of that length (the guard test checks the app's own output too).
otps = st.text(string.digits, min_size=6, max_size=8).filter(
    lambda o: o[0] != "0" and len(set(o)) >= 3
)
# E.164: +, country code without a leading 0, at most 15 digits in all. A needle always holds
# the "+" (or "%2B") followed by 10+ digits: no fixed text of the request has that shape.
phones = st.builds(
    lambda cc, rest: f"+{cc}{rest}",
    st.integers(1, 999).map(str),
    st.text(string.digits, min_size=8, max_size=11),
).filter(lambda p: 10 <= len(p) - 1 <= 15)
_LABEL = st.text(string.ascii_lowercase + string.digits, min_size=2, max_size=12)
emails = st.builds(
    lambda rest, domain, tld: f"{MARKER}{rest}@{domain}.{tld}",
    st.text(_ALNUM + "._+-", min_size=2, max_size=20),
    _LABEL,
    st.sampled_from(["com", "org", "in", "co.uk", "io"]),
)

# Machine-made numbers (timestamps, durations, hex ids of any length: span 16, trace 32, the
# release's git SHA 40; JSON number values: process and thread ids, sizes, counts) are removed
# before looking for short numeric secrets (OTPs), so a 6-digit OTP cannot "leak" by matching
# microseconds, a digit run inside the commit id (fab2273400a0b) or a call's UUID
# (...-a5070790b...) or a thread's hex name, or a pid past 999,999. An OTP
# arrives as text, so if it leaks it is in a string, never a bare JSON number.
_MACHINE_NUMBERS = re.compile(
    rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)?"
    rb"|\b[0-9a-f]{16,}\b|\d+\.\d+(?:e-?\d+)?"
    rb"|(?<=[:\[,])\s*-?\d+(?=\s*[,}\]])"
    rb"|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b"
    rb"|\b(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b"  # hex with a letter: asyncio-portal-7f17ea701190
)


def needles(value: str) -> set[bytes]:
    """The byte forms a value can take in a serialized envelope: raw, JSON-escaped,
    percent-encoded (path/query), form-encoded."""
    forms = {value, json.dumps(value)[1:-1], quote(value, safe=""), quote_plus(value)}
    return {form.encode() for form in forms if form}


def leaks(raw: bytes, secrets: Iterable[tuple[str, str]]) -> list[str]:
    """``kind`` of every secret found in ``raw`` (its value is never part of the answer)."""
    found = []
    cleaned: bytes | None = None
    for kind, value in secrets:
        if value.isdigit():
            if value.encode() not in raw:  # the removal below only shortens digit runs
                continue
            if cleaned is None:  # a regex pass over every envelope: only when needed
                cleaned = _MACHINE_NUMBERS.sub(b"#", raw)
            pattern = re.compile(rb"(?<!\d)" + re.escape(value.encode()) + rb"(?!\d)")
            if pattern.search(cleaned):
                found.append(kind)
        elif any(needle in raw for needle in needles(value)):
            found.append(kind)
    return found


def numbers(raw: bytes, digits: range) -> list[bytes]:
    """Whole numbers in ``raw`` with a digit count in ``digits``, machine-made ones removed (what
    an OTP of that length could be mistaken for)."""
    cleaned = _MACHINE_NUMBERS.sub(b"#", raw)
    found = re.findall(rb"(?<!\d)\d+(?!\d)", cleaned)
    return [n for n in found if len(n) in digits]
