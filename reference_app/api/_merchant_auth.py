"""Who is calling: a merchant API key (``Authorization: Bearer``) or the signed session cookie
that Google sign-in sets; and the per-merchant rate limit on placing calls."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request, status

from reference_app.config import Settings, hash_api_key

__all__ = [
    "SESSION_COOKIE",
    "SESSION_SECONDS",
    "Merchant",
    "MerchantDep",
    "MerchantRateLimiter",
    "authenticate",
    "make_session",
    "merchant_shops",
    "session_key",
]

#: The signed session cookie Google sign-in sets (HttpOnly; Secure in production).
SESSION_COOKIE = "session"
#: How long a session lasts.
SESSION_SECONDS = 8 * 3600


@dataclass(frozen=True, slots=True)
class Merchant:
    """An authenticated merchant and the shops it may place and read calls for."""

    id: str
    shops: frozenset[str]


def merchant_shops(settings: Settings, merchant: str) -> frozenset[str]:
    """Every shop any of ``merchant``'s keys is bound to."""
    shops: set[str] = set()
    for key in settings.merchant_api_keys:
        if key.merchant == merchant:
            shops |= key.shops
    return frozenset(shops)


def session_key(google_client_secret: str) -> bytes:
    """The HMAC key for session cookies, derived (domain-separated) from GOOGLE_CLIENT_SECRET:
    no extra variable to configure; rotating the secret ends every session."""
    return hashlib.sha256(b"reference-app-session" + google_client_secret.encode()).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _sign(key: bytes, payload: str) -> str:
    return _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())


def make_session(key: bytes, merchant: str, *, now: float | None = None) -> str:
    """A session cookie value for ``merchant``, valid for :data:`SESSION_SECONDS`."""
    expires = int((time.time() if now is None else now) + SESSION_SECONDS)
    payload = _b64(json.dumps({"m": merchant, "exp": expires}, separators=(",", ":")).encode())
    return f"{payload}.{_sign(key, payload)}"


def read_session(key: bytes, value: str, *, now: float | None = None) -> str | None:
    """The merchant a valid, unexpired session cookie names, else None."""
    payload, _, signature = value.partition(".")
    if not payload or len(value) > 512:
        return None
    if not hmac.compare_digest(_sign(key, payload).encode(), signature.encode("utf-8", "replace")):
        return None
    try:
        data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        merchant, expires = str(data["m"]), float(data["exp"])
    except (ValueError, KeyError, TypeError):
        return None
    return merchant if (time.time() if now is None else now) < expires else None


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _by_key(settings: Settings, token: str) -> Merchant | None:
    digest = hash_api_key(token).encode()
    found = None
    # Every configured hash is compared (constant time, no early exit): timing tells nothing.
    for key in settings.merchant_api_keys:
        if hmac.compare_digest(digest, key.key_sha256.encode()):
            found = key
    return None if found is None else Merchant(found.merchant, found.shops)


async def authenticate(request: Request) -> Merchant:
    """The calling merchant: 401 without valid credentials (a key, else a session).

    ``async def`` though it never awaits: FastAPI would run a plain ``def`` dependency in its
    thread pool (a round trip between threads on every request)."""
    settings = cast(Settings, request.app.state.settings)
    token = _bearer(request)
    merchant: Merchant | None = None
    if token is not None:
        merchant = _by_key(settings, token)
    elif (cookie := request.cookies.get(SESSION_COOKIE)) and settings.google_client_secret:
        key = session_key(settings.google_client_secret.get_secret_value())
        name = read_session(key, cookie)
        shops = merchant_shops(settings, name) if name else frozenset()
        merchant = Merchant(name, shops) if name and shops else None
    if merchant is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a merchant API key or a signed-in session is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return merchant


class MerchantRateLimiter:
    """A token bucket per merchant: ``per_minute`` calls, refilled evenly. Per app instance;
    time comes from ``clock`` (monotonic seconds), read at each call so a frozen test clock
    drives it. :meth:`clear` forgets every bucket (the test harness's reset)."""

    def __init__(self, per_minute: int, clock: Callable[[], float] | None = None) -> None:
        self._capacity = float(per_minute)
        self._rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def _now(self) -> float:
        return self._clock() if self._clock is not None else time.monotonic()

    def acquire(self, merchant: str) -> float | None:
        """Take one token: None when allowed, else the seconds until one is available."""
        now = self._now()
        tokens, last = self._buckets.get(merchant, (self._capacity, now))
        tokens = min(self._capacity, tokens + max(0.0, now - last) * self._rate)
        if tokens < 1.0:
            self._buckets[merchant] = (tokens, now)
            return (1.0 - tokens) / self._rate
        self._buckets[merchant] = (tokens - 1.0, now)
        return None

    def refund(self, merchant: str) -> None:
        """Give back a token taken for a request that placed nothing."""
        if merchant in self._buckets:
            tokens, last = self._buckets[merchant]
            self._buckets[merchant] = (min(self._capacity, tokens + 1.0), last)

    def check(self, merchant: str) -> None:
        """:meth:`acquire`, answering 429 with ``Retry-After`` when the merchant is over."""
        wait = self.acquire(merchant)
        if wait is not None:
            raise HTTPException(
                status.HTTP_429_TOO_MANY_REQUESTS,
                "too many calls; retry later",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )

    def clear(self) -> None:
        self._buckets.clear()


MerchantDep = Annotated[Merchant, Depends(authenticate)]
