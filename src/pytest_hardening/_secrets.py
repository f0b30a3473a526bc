"""Which configuration values are secrets: one rule for every place that must not print them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from urllib.parse import urlsplit

__all__ = ["is_secret_name", "mask", "secret_values"]

# DATABASE_URL and other URLs are handled by value (their password), not by name.
_SECRET_NAME = re.compile(
    r"SECRET|TOKEN|PASSWORD|PASSWD|PASS\b|_KEY|^KEY|APIKEY|DSN|CREDENTIAL|PRIVATE|SIGNING|SALT",
    re.IGNORECASE,
)


def is_secret_name(name: str) -> bool:
    """Names whose values must never appear in an error message or a report."""
    return bool(_SECRET_NAME.search(name))


def secret_values(env: Mapping[str, str], *, min_length: int = 4) -> list[tuple[str, str]]:
    """``(name, value)`` of every secret in ``env``: values of secret-named variables and
    passwords inside URLs. Values shorter than ``min_length`` are too common to mask."""
    found: list[tuple[str, str]] = []
    for name, value in env.items():
        if is_secret_name(name) and len(value) >= min_length:
            found.append((name, value))
        if "://" in value:
            try:
                password = urlsplit(value).password
            except ValueError:  # a malformed URL (bad port ...) has no password to find
                password = None
            if password and len(password) >= min_length:
                found.append((name, password))
    return found


def mask(text: str, secrets: Iterable[tuple[str, str]], *, label: str = "***") -> str:
    """``text`` with every secret value replaced (longest first, so no fragment survives);
    ``label`` may use ``{name}``."""
    for name, value in sorted(secrets, key=lambda item: len(item[1]), reverse=True):
        text = text.replace(value, label.format(name=name))
    return text
