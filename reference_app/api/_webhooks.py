"""Inbound webhooks: Exotel status callbacks and HMAC-signed Shopify ``orders/create``."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
from typing import Any

import httpx
from fastapi import APIRouter, HTTPException, Request, status
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import Message

from reference_app._status_callbacks import EXOTEL_STATUSES
from reference_app.db import WEBHOOK_DELIVERY_RETENTION, utcnow
from reference_app.providers import OrderInfo, is_shop_domain

from ._deps import ServicesDep, SettingsDep

__all__ = ["MAX_WEBHOOK_BYTES", "shopify_signature", "webhooks_router"]

logger = logging.getLogger("reference_app.webhooks")

#: Webhook bodies are small; anything bigger is refused before it is parsed.
MAX_WEBHOOK_BYTES = 256 * 1024
#: Exotel's CallSids are 32 hex characters; the column holds 64.
_MAX_SID_CHARS = 64
_MAX_URL_CHARS = 2048
_MAX_DELIVERY_ID_CHARS = 255


def shopify_signature(secret: str, body: bytes) -> str:
    """``base64(HMAC-SHA256(secret, raw body))``, as Shopify sends in X-Shopify-Hmac-Sha256."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "payload too large")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_WEBHOOK_BYTES:
            raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, "payload too large")
    return body


async def _exotel_fields(request: Request, body: bytes) -> dict[str, str]:
    """JSON, urlencoded or multipart (Exotel's default) callback fields."""
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            payload: Any = json.loads(body)
        # A deeply nested body (b"[" * 100_000) exhausts the parser's recursion limit: still
        # the sender's mistake, not a server error (tests/fuzz/test_fuzz_webhooks.py).
        except (ValueError, RecursionError):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "malformed JSON body") from None
        if not isinstance(payload, dict):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "expected a JSON object")
        return {str(k): str(v) for k, v in payload.items() if v is not None}

    async def replay() -> Message:
        # The body was already read (size-limited); let Starlette's form parser see it again.
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form()
    except (StarletteHTTPException, ValueError, UnicodeDecodeError):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "malformed form body") from None
    return {k: v for k, v in form.items() if isinstance(v, str)}


def _call_sid(fields: dict[str, str]) -> str | None:
    sid = fields.get("CallSid", "")
    # Bounded and printable before it reaches a query (NUL or a lone surrogate would make the
    # database driver fail: a 5xx, and a failure counted against the database breaker).
    return sid if 0 < len(sid) <= _MAX_SID_CHARS and sid.isprintable() else None


def _recording_url(fields: dict[str, str]) -> str | None:
    """The callback's RecordingUrl, if any; a malformed one refuses the whole callback (400).

    Refused rather than stored: a URL that cannot be parsed can never be downloaded, and once
    stored it would sit "pending" forever. Nothing is written, so a corrected retry applies.
    """
    raw = fields.get("RecordingUrl") or None
    if raw is None:
        return None
    try:
        url: httpx.URL | None = httpx.URL(raw)
    except (httpx.InvalidURL, ValueError):  # e.g. "http://[::1", a lone surrogate
        url = None
    if (
        url is None
        or len(raw) > _MAX_URL_CHARS
        or not raw.isprintable()
        or url.scheme not in ("http", "https")
        or not url.host
        or not 0 < (url.port or 443) < 65536
    ):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "RecordingUrl is not a valid http(s) URL")
    return raw


def _signed_shop(payload: Any) -> str | None:
    """The shop an order webhook's signed body names: its ``order_status_url`` host
    (``https://<shop>.myshopify.com/...``), when that is a shop domain."""
    url = payload.get("order_status_url") if isinstance(payload, dict) else None
    if not isinstance(url, str):
        return None
    try:
        host = (httpx.URL(url).host or "").lower()
    except (httpx.InvalidURL, ValueError):
        return None
    return host if is_shop_domain(host) else None


def _created_before(payload: Any, limit: dt.datetime) -> bool:
    """Whether the signed body's ``created_at`` (ISO 8601 with offset) is before ``limit``."""
    created = payload.get("created_at") if isinstance(payload, dict) else None
    if not isinstance(created, str):
        return False
    try:
        at = dt.datetime.fromisoformat(created)
    except ValueError:
        return False
    return at.tzinfo is not None and at < limit


def webhooks_router() -> APIRouter:
    router = APIRouter(prefix="/api/webhooks", tags=["webhooks"])

    @router.post("/exotel/status-callback")
    async def exotel_status_callback(request: Request, app: ServicesDep) -> dict[str, str]:
        # Exotel does not sign callbacks: the StatusCallback URL we gave it carries our call id
        # and its HMAC. Checked before the body is read; the answer echoes nothing.
        call_id = request.query_params.get("call_id", "")
        sig = request.query_params.get("sig", "")
        expires = request.query_params.get("exp", "")
        if not call_id or not sig or not app.calls.verify_status_callback(call_id, sig, expires):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or invalid signature")
        fields = await _exotel_fields(request, await _body(request))
        sid = _call_sid(fields)
        state = EXOTEL_STATUSES.get(fields.get("Status", "").lower())
        if sid is None or state is None:
            raise HTTPException(
                status.HTTP_422_UNPROCESSABLE_CONTENT, "CallSid and a known Status are required"
            )
        call = await app.calls.status_callback(call_id, sid, state, _recording_url(fields))
        if call is None:
            # 200 so Exotel does not retry a callback we can never apply.
            logger.warning("status callback for an unknown call or CallSid ignored")
            return {"result": "ignored"}
        return {"result": "updated", "status": call.status.value}

    @router.post("/shopify/orders-create")
    async def shopify_orders_create(
        request: Request, app: ServicesDep, config: SettingsDep
    ) -> dict[str, str]:
        body = await _body(request)
        secret = config.shopify_webhook_secret
        sent = request.headers.get("x-shopify-hmac-sha256", "")
        # Fail closed: without a configured secret no webhook is authentic.
        if secret is None or not sent:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or invalid signature")
        expected = shopify_signature(secret.get_secret_value(), body)
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or invalid signature")
        delivery = request.headers.get("x-shopify-webhook-id", "")
        if not 0 < len(delivery) <= _MAX_DELIVERY_ID_CHARS or not delivery.isprintable():
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "X-Shopify-Webhook-Id is required")
        try:
            payload: Any = json.loads(body)
            order = OrderInfo.from_webhook(payload)
        except (ValueError, RecursionError, KeyError, TypeError, AttributeError):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "malformed order payload") from None
        if _created_before(payload, utcnow() - WEBHOOK_DELIVERY_RETENTION):
            # Shopify stops retrying long before: a replay of a captured delivery whose id
            # may already be pruned. 200, so nothing retries it.
            logger.warning("order webhook older than the delivery-id window ignored")
            return {"result": "expired"}
        if not await app.repository.first_delivery(delivery):
            return {"result": "duplicate"}  # 200: Shopify must not retry it
        # X-Shopify-Shop-Domain is outside the HMAC: the shop comes from the signed body, and a
        # header naming another shop is refused.
        shop = _signed_shop(payload)
        claimed = request.headers.get("x-shopify-shop-domain", "").lower()
        if shop is None or (claimed and claimed != shop):
            logger.warning("order webhook without a matching shop in its signed body: not cached")
            return {"result": "received"}
        app.order_cache.put(shop, order)
        return {"result": "received"}

    return router
