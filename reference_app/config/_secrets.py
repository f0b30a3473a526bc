"""Secret strength: what a production secret must be (docs/production-checklist.md).

Every secret must be at least :data:`MIN_SECRET_LENGTH` characters (some more, see
:data:`SECRET_RULES`) with an estimated entropy of at least :data:`MIN_SECRET_BITS` bits
(length times the Shannon entropy of its characters: ``aaaaaaaaaaaaaaaaaaaa`` has none), and
must not be a placeholder (``replace-me…``, ``changeme``, ``<your key>`` …) or a well-known
default (``password``, ``secret`` …). Messages never contain the value.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping
from types import MappingProxyType

__all__ = [
    "MIN_SECRET_BITS",
    "MIN_SECRET_LENGTH",
    "SECRET_RULES",
    "is_placeholder",
    "secret_problem",
]

MIN_SECRET_LENGTH = 16
MIN_SECRET_BITS = 48.0
#: (minimum length, minimum bits) per secret where it differs from the default: tokens this
#: app checks itself can be long.
SECRET_RULES: Mapping[str, tuple[int, float]] = MappingProxyType(
    {
        "MONITORING_ADMIN_TOKEN": (24, 96.0),
        "SHOPIFY_WEBHOOK_SECRET": (16, 64.0),
    }
)

#: Substrings that mark a value copied from an example or a template.
_PLACEHOLDER_MARKS = (
    "replace-me",
    "replace_me",
    "replaceme",
    "change-me",
    "change_me",
    "changeme",
    "placeholder",
    "your-",
    "your_",
    "<",
    ">",
    "xxxxxx",
    "todo",
    "fixme",
)
#: Whole values that are published defaults.
_KNOWN_DEFAULTS = frozenset(
    {
        "secret",
        "password",
        "passw0rd",
        "admin",
        "token",
        "test",
        "default",
        "letmein",
        "12345678",
        "123456789",
        "1234567890",
        "qwertyuiop",
        "supersecret",
        "mysecret",
        "sk-test-key",
    }
)


def is_placeholder(value: str) -> bool:
    lowered = value.strip().lower()
    return lowered in _KNOWN_DEFAULTS or any(mark in lowered for mark in _PLACEHOLDER_MARKS)


def entropy_bits(value: str) -> float:
    """Length times the Shannon entropy per character: a cheap upper estimate of how hard the
    value is to guess (it cannot see dictionary words, so it is a floor test, not a proof)."""
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    per_char = -sum(c / n * math.log2(c / n) for c in counts.values())
    return n * per_char


def secret_problem(name: str, value: str) -> str | None:
    """What is wrong with secret ``name``'s ``value``, or None."""
    if is_placeholder(value):
        return "is a placeholder or a published default: set the real secret"
    length, bits = SECRET_RULES.get(name, (MIN_SECRET_LENGTH, MIN_SECRET_BITS))
    if len(value) < length:
        return f"is too short: secrets need at least {length} characters"
    if entropy_bits(value) < bits:
        return f"is too predictable: secrets need about {bits:.0f} bits of entropy (random)"
    return None
