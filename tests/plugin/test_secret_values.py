"""Which values of an environment are secrets: what check-config, the audit and
assert_no_secrets mask or look for."""

from __future__ import annotations

from pytest_hardening._secrets import secret_values


def test_a_switch_named_like_a_secret_holds_no_secret() -> None:
    # Masking "false" would mask every "false" in the output, advice included.
    env = {
        "REDACT_API_KEYS": "false",
        "ROTATE_TOKENS": "Enabled",
        "API_KEY": "sk-live-0123456789",
        "DB_PASSWORD": "true-story-horse",  # a secret that merely starts like a switch
    }
    assert secret_values(env) == [
        ("API_KEY", "sk-live-0123456789"),
        ("DB_PASSWORD", "true-story-horse"),
    ]
