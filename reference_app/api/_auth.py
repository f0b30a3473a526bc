"""Google sign-in: redirect to Google, then exchange the code through the google breaker."""

from __future__ import annotations

import hmac
import math
import secrets

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse, RedirectResponse

from reference_app.providers import GoogleError

from ._deps import ServicesDep, SettingsDep

__all__ = ["STATE_COOKIE", "auth_router"]

#: The OAuth ``state`` is bound to the browser with this cookie (CSRF protection).
STATE_COOKIE = "oauth_state"


def auth_router() -> APIRouter:
    router = APIRouter(prefix="/api/auth/google", tags=["auth"])

    @router.get("/login")
    async def google_login(app: ServicesDep, config: SettingsDep) -> RedirectResponse:
        google = app.providers.google
        if not google.configured:
            raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "Google sign-in is off")
        state = secrets.token_urlsafe(24)
        response = RedirectResponse(google.authorization_url(state), status.HTTP_302_FOUND)
        response.set_cookie(
            STATE_COOKIE,
            state,
            max_age=600,
            httponly=True,
            secure=config.is_production,
            samesite="lax",
            path="/api/auth/google",
        )
        return response

    @router.get("/callback")
    async def google_callback(
        request: Request, app: ServicesDep, code: str = "", state: str = ""
    ) -> JSONResponse:
        expected = request.cookies.get(STATE_COOKIE, "")
        if not code or not state or not expected:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "code and state are required")
        if not hmac.compare_digest(state.encode(), expected.encode()):
            raise HTTPException(status.HTTP_400_BAD_REQUEST, "state mismatch")
        try:
            tokens = await app.providers.google.exchange_code(code)
        except GoogleError as exc:
            if not exc.degraded:
                raise HTTPException(
                    status.HTTP_400_BAD_REQUEST, "invalid or expired authorization code"
                ) from None
            retry = str(max(1, math.ceil(exc.retry_after or 1)))
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                "Google sign-in is temporarily unavailable",
                headers={"Retry-After": retry},
            ) from None
        # Tokens stay server-side: the client learns only that sign-in worked.
        response = JSONResponse(
            {"authenticated": True, "token_type": tokens.token_type, "scope": tokens.scope}
        )
        response.delete_cookie(STATE_COOKIE, path="/api/auth/google")
        return response

    return router
