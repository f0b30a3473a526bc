"""``/api/calls``: place a call (201 initiated / 202 queued) and read it back.

Both need a merchant (API key or session) and only reach that merchant's shops: placing for
another shop is 403, reading another merchant's call is 404 (its existence is not disclosed).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

from fastapi import APIRouter, Header, HTTPException, Request, Response, status

from reference_app.config import REQUEST_BUDGET_SECONDS
from reference_app.db import IdempotencyClaim, IdempotentReplay, utcnow

from ._deps import ServicesDep
from ._merchant_auth import MerchantDep, MerchantRateLimiter
from ._schemas import CallCreate, CallOut

__all__ = ["IDEMPOTENCY_KEY_PATTERN", "calls_router"]

#: What an ``Idempotency-Key`` may be: 1-255 visible ASCII characters (a UUID is typical).
IDEMPOTENCY_KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"

_RESPONSES: dict[int | str, dict[str, str]] = {
    202: {"description": "queued: Exotel unavailable; the call is stored for retry"},
    401: {"description": "no merchant API key or session"},
    403: {"description": "the shop is not one of the merchant's"},
    409: {"description": "the Idempotency-Key's first request is still running; retry"},
    422: {"description": "invalid body, or an Idempotency-Key reused with another body"},
    429: {"description": "the merchant placed too many calls; see Retry-After"},
    503: {"description": "database unavailable; see Retry-After"},
}


def _request_sha256(body: CallCreate) -> str:
    canonical = json.dumps(body.model_dump(), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _replayed(replay: IdempotentReplay, body: CallCreate, response: Response) -> CallOut:
    if replay.request_sha256 != _request_sha256(body):
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "Idempotency-Key was already used with a different request body",
        )
    call = replay.call
    code = replay.response_status
    if call is not None and code is None:
        if call.exotel_call_sid is not None:
            code = status.HTTP_201_CREATED
        elif utcnow() - replay.created_at > dt.timedelta(seconds=2 * REQUEST_BUDGET_SECONDS):
            code = status.HTTP_202_ACCEPTED  # the first request died before answering
    if call is None or code is None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "the first request with this Idempotency-Key is still running",
            headers={"Retry-After": "1"},
        )
    response.status_code = code
    response.headers["Idempotent-Replayed"] = "true"
    return CallOut.from_call(call)


def calls_router() -> APIRouter:
    router = APIRouter(prefix="/api/calls", tags=["calls"])

    @router.post("", status_code=status.HTTP_201_CREATED, responses=_RESPONSES)
    async def place_call(
        body: CallCreate,
        request: Request,
        response: Response,
        app: ServicesDep,
        merchant: MerchantDep,
        idempotency_key: str | None = Header(
            default=None, pattern=IDEMPOTENCY_KEY_PATTERN, alias="Idempotency-Key"
        ),
    ) -> CallOut:
        if body.shop not in merchant.shops:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "not one of your shops")
        limiter: MerchantRateLimiter = request.app.state.rate_limiter
        limiter.check(merchant.id)
        claim = None
        if idempotency_key is not None:
            claim = IdempotencyClaim(merchant.id, idempotency_key, _request_sha256(body))
        placed = await app.calls.place_call(
            order_id=body.order_id, shop=body.shop, phone=body.phone, claim=claim
        )
        if isinstance(placed, IdempotentReplay):
            limiter.refund(merchant.id)  # a replay places nothing
            return _replayed(placed, body, response)
        if not placed.initiated:
            response.status_code = status.HTTP_202_ACCEPTED
        return CallOut.from_call(placed.call)

    @router.get("/{call_id}", responses={401: _RESPONSES[401]})
    async def get_call(call_id: str, app: ServicesDep, merchant: MerchantDep) -> CallOut:
        # Ids are UUIDs: anything else is unknown without a query (a NUL byte would make
        # PostgreSQL fail the query, and ten of those would open the database breaker).
        try:
            canonical = str(uuid.UUID(call_id))
        except ValueError:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "call not found") from None
        call = await app.repository.get(canonical)
        if call is None or call.shop not in merchant.shops:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "call not found")
        return CallOut.from_call(call, download_url=app.calls.recording_download_url(call))

    return router
