"""``/api/calls``: place a call (201 initiated / 202 queued) and read it back."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, HTTPException, Response, status

from ._deps import ServicesDep
from ._schemas import CallCreate, CallOut

__all__ = ["calls_router"]


def calls_router() -> APIRouter:
    router = APIRouter(prefix="/api/calls", tags=["calls"])

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        responses={
            202: {"description": "queued: Exotel unavailable; the call is stored for retry"},
            503: {"description": "database unavailable; see Retry-After"},
        },
    )
    async def place_call(body: CallCreate, response: Response, app: ServicesDep) -> CallOut:
        placed = await app.calls.place_call(
            order_id=body.order_id, shop=body.shop, phone=body.phone
        )
        if not placed.initiated:
            response.status_code = status.HTTP_202_ACCEPTED
        return CallOut.from_call(placed.call)

    @router.get("/{call_id}")
    async def get_call(call_id: str, app: ServicesDep) -> CallOut:
        # Ids are UUIDs: anything else is unknown without a query (a NUL byte would make
        # PostgreSQL fail the query, and ten of those would open the database breaker).
        try:
            canonical = str(uuid.UUID(call_id))
        except ValueError:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "call not found") from None
        call = await app.repository.get(canonical)
        if call is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "call not found")
        return CallOut.from_call(call, download_url=app.calls.recording_download_url(call))

    return router
