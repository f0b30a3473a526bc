"""Development-only test routes: never mounted in production (``route_audit`` checks it, see
docs/production-checklist.md).
"""

from __future__ import annotations

import logging

from fastapi import APIRouter
from pydantic import BaseModel, Field

__all__ = ["dev_router"]

logger = logging.getLogger("reference_app.dev")


class OtpRequest(BaseModel):
    email: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def dev_router() -> APIRouter:
    router = APIRouter(prefix="/api/test", tags=["development only"])

    @router.get("/email-connection")
    async def email_connection() -> dict[str, str]:
        # The development mail transport is the log: there is no SMTP server to reach.
        return {"status": "ok", "transport": "log", "detail": "development: no email is sent"}

    @router.post("/send-otp")
    async def send_otp(body: OtpRequest) -> dict[str, object]:
        # The fake sends nothing; the OTP itself is never logged nor returned.
        logger.info("development OTP 'sent' to %s", _mask_email(body.email))
        return {"sent": True, "destination": _mask_email(body.email), "expires_in": 300}

    return router
