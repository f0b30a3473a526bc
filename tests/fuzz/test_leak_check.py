"""The leak check behind the PII fuzzing: it finds a secret in every form an envelope can hold
it, and never mistakes a machine-made number for a numeric secret."""

from __future__ import annotations

import json

from ._secrets import MARKER, leaks

TOKEN = f"sk-{MARKER}abc/def+ghi"
OTP = "482913"


def test_a_secret_is_found_raw_json_escaped_or_percent_encoded() -> None:
    forms = [TOKEN, json.dumps(TOKEN)[1:-1], "sk-Qx9Zabc%2Fdef%2Bghi"]
    for form in forms:
        assert leaks(f'{{"url": "https://x.example/?key={form}"}}'.encode(), [("token", TOKEN)])
    assert leaks(b'{"message": "nothing here"}', [("token", TOKEN)]) == []


def test_a_numeric_secret_is_found_only_as_a_whole_number_in_text() -> None:
    secrets = [("otp", OTP)]
    assert leaks(f'{{"message": "your OTP is {OTP}"}}'.encode(), secrets) == ["otp"]
    assert leaks(f'{{"message": "code={OTP}."}}'.encode(), secrets) == ["otp"]
    machine_made = [
        f'{{"timestamp": "2026-12-03T10:41:07.{OTP}Z"}}',  # microseconds
        f'{{"span_id": "ab{OTP}cdef01234"}}',  # a hex id
        f'{{"duration": 0.{OTP}}}',  # a float
        f'{{"thread": 1{OTP}}}',  # a JSON number, longer than the secret
        f'{{"message": "order 9{OTP}0"}}',  # a longer digit run
    ]
    for raw in machine_made:
        assert leaks(raw.encode(), secrets) == [], raw
    assert leaks(b'{"message": "no digits"}', secrets) == []
