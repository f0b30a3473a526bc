"""Merchants: API keys (stored as SHA-256 hashes) bound to their shops, and Google accounts.

``MERCHANT_API_KEYS`` lists ``merchant:sha256-hex:shop|shop`` entries separated by commas, e.g.
``acme:3f0a…(64 hex digits):acme.myshopify.com|acme-eu.myshopify.com``. Only the hash of a key
is configured, never the key: a leaked environment does not leak keys (docs/production-checklist.md
shows how to generate a key and its hash).

``MERCHANT_GOOGLE_ACCOUNTS`` maps verified Google sign-in emails onto merchants
(``owner@acme.com=acme,ops@acme.com=acme``); sign-in by anyone else is refused.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["MerchantKey", "hash_api_key", "parse_google_accounts", "parse_merchant_keys"]

_MERCHANT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_SHOP = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
_EMAIL = re.compile(r"^[^@\s,=]{1,64}@[^@\s,=]{1,255}$")


@dataclass(frozen=True, slots=True)
class MerchantKey:
    """One configured API key: its merchant, the key's SHA-256 (hex) and the shops it may use."""

    merchant: str
    key_sha256: str
    shops: frozenset[str]

    def __repr__(self) -> str:  # the hash identifies a key: keep it out of logs
        return f"MerchantKey(merchant={self.merchant!r}, shops={sorted(self.shops)!r})"


def hash_api_key(key: str) -> str:
    """The SHA-256 (hex) a key is configured and compared by. Keys are high-entropy random
    strings, so a fast hash is enough (no password stretching needed)."""
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def parse_merchant_keys(value: str) -> tuple[MerchantKey, ...]:
    """Parse MERCHANT_API_KEYS; ``ValueError`` (without the value) when malformed."""
    keys: list[MerchantKey] = []
    seen: set[str] = set()
    for item in value.split(","):
        merchant, _, rest = item.strip().partition(":")
        digest, _, shops = rest.partition(":")
        shop_set = frozenset(s.strip().lower() for s in shops.split("|") if s.strip())
        if not _MERCHANT.match(merchant) or not _SHA256.match(digest.lower()) or not shop_set:
            raise ValueError(
                "must list merchant:sha256-hex:shop|shop entries separated by commas "
                "(merchant: lowercase letters, digits, - and _; 64 hex digits; shops)"
            )
        if not all(_SHOP.match(s) for s in shop_set):
            raise ValueError("shops must be *.myshopify.com domains")
        if digest.lower() in seen:
            raise ValueError("lists the same key twice")
        seen.add(digest.lower())
        keys.append(MerchantKey(merchant, digest.lower(), shop_set))
    return tuple(keys)


def parse_google_accounts(value: str) -> Mapping[str, str]:
    """Parse MERCHANT_GOOGLE_ACCOUNTS (``email=merchant`` pairs); ``ValueError`` when malformed."""
    accounts: dict[str, str] = {}
    for item in value.split(","):
        email, sep, merchant = item.strip().partition("=")
        email, merchant = email.strip().lower(), merchant.strip()
        if not sep or not _EMAIL.match(email) or not _MERCHANT.match(merchant):
            raise ValueError("must list email=merchant pairs separated by commas")
        accounts[email] = merchant
    return accounts
