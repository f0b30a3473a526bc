"""Secret strength: what a production secret must be (docs/production-checklist.md).

Every secret must be at least :data:`MIN_SECRET_LENGTH` characters (some more, see
:data:`SECRET_RULES`) with an estimated entropy of at least :data:`MIN_SECRET_BITS` bits
(length times the Shannon entropy of its characters: ``aaaaaaaaaaaaaaaaaaaa`` has none), and
must not be a placeholder (``replace-me…``, ``changeme``, ``<your key>`` …) or a well-known
default (``password``, ``secret`` …). Messages never contain the value.
"""

from __future__ import annotations

import itertools
import math
import re
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

#: Words that mark a value copied from an example or a template. They are matched as whole
#: words (split at anything not a letter or digit), never as substrings: as substrings, a
#: random ``token_urlsafe(32)`` secret held one by chance once in 25,000 draws, and refusing a
#: strong secret is a false alarm at deploy time; as words, once in 2,000,000 (``your-…``).
_PLACEHOLDER_WORDS = frozenset(
    {"placeholder", "todo", "fixme", "changeme", "replaceme", "your", "yourkey"}
)
#: Two-word placeholders (``replace-me``, ``Change_Me``, ``change me``).
_PLACEHOLDER_PAIRS = frozenset({("replace", "me"), ("change", "me")})
#: A template slot (a whole ``<your key>``, ``${API_KEY}``, ``{{ secret }}``) or a run of x's
#: (``sk-xxxxxxxx``). A lone ``<`` or ``>`` is not one: a generated password with symbols
#: holds both about one time in ten.
_TEMPLATE = re.compile(r"^<[^<>]+>$|\$\{[a-z_][a-z0-9_]*\}|\{\{\s*[a-z_][a-z0-9_.]*\s*\}\}|x{6}")
_WORD_BREAK = re.compile(r"[^a-z0-9]+")
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
    """A published default, a template slot or a placeholder word (``replace-me-…``,
    ``YOUR_API_KEY``, ``<your key>``, ``changeme``)."""
    lowered = value.strip().lower()
    if lowered in _KNOWN_DEFAULTS or _TEMPLATE.search(lowered):
        return True
    words = [word for word in _WORD_BREAK.split(lowered) if word]
    return any(word in _PLACEHOLDER_WORDS for word in words) or any(
        pair in _PLACEHOLDER_PAIRS for pair in itertools.pairwise(words)
    )


def entropy_bits(value: str) -> float:
    """Length times the Shannon entropy per character: a cheap upper estimate of how hard the
    value is to guess (it cannot see dictionary words, so it is a floor test, not a proof)."""
    if not value:
        return 0.0
    counts = Counter(value)
    n = len(value)
    per_char = -sum(c / n * math.log2(c / n) for c in counts.values())
    return n * per_char


def _mostly_sequential(value: str) -> bool:
    """``1234567890123456``, ``abcdefghijklmnop``: distinct characters, no randomness."""
    steps = [ord(b) - ord(a) for a, b in itertools.pairwise(value)]
    return sum(1 for step in steps if abs(step) == 1) * 2 > len(steps)


def secret_problem(name: str, value: str) -> str | None:
    """What is wrong with secret ``name``'s ``value``, or None."""
    if is_placeholder(value):
        return "is a placeholder or a published default: set the real secret"
    length, bits = SECRET_RULES.get(name, (MIN_SECRET_LENGTH, MIN_SECRET_BITS))
    if len(value) < length:
        return f"is too short: secrets need at least {length} characters"
    if entropy_bits(value) < bits or _mostly_sequential(value):
        return f"is too predictable: secrets need about {bits:.0f} bits of entropy (random)"
    return None
