"""Google sign-in: redirect to Google, then exchange the code through the google breaker."""

from __future__ import annotations

import base64
import hmac
import json
import math
import secrets

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.responses import JSONResponse, RedirectResponse

from reference_app.providers import GoogleError

from ._deps import ServicesDep, SettingsDep
from ._merchant_auth import (
    SESSION_COOKIE,
    SESSION_SECONDS,
    make_session,
    merchant_shops,
    session_key,
)

__all__ = ["STATE_COOKIE", "auth_router"]

#: The OAuth ``state`` is bound to the browser with this cookie (CSRF protection).
STATE_COOKIE = "oauth_state"


def _verified_email(id_token: str | None) -> str | None:
    """The verified email in Google's ID token. It came straight from Google's token endpoint
    over TLS, so its claims are trusted without checking its signature (OpenID Connect Core
    3.1.3.7); it is never accepted from the browser."""
    try:
        payload = (id_token or "").split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError):
        return None
    if not isinstance(claims, dict) or claims.get("email_verified") is not True:
        return None
    email = claims.get("email")
    return email.lower() if isinstance(email, str) else None


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
        request: Request, app: ServicesDep, config: SettingsDep, code: str = "", state: str = ""
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
        email = _verified_email(tokens.id_token)
        merchant = config.merchant_google_accounts.get(email or "")
        if merchant is None or not merchant_shops(config, merchant):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this Google account is not a merchant")
        secret = config.google_client_secret
        assert secret is not None  # google.configured
        # Tokens stay server-side: the client learns only that sign-in worked, and gets a
        # signed session cookie that /api/calls accepts.
        response = JSONResponse(
            {"authenticated": True, "token_type": tokens.token_type, "scope": tokens.scope}
        )
        response.delete_cookie(STATE_COOKIE, path="/api/auth/google")
        response.set_cookie(
            SESSION_COOKIE,
            make_session(session_key(secret.get_secret_value()), merchant),
            max_age=SESSION_SECONDS,
            httponly=True,
            secure=config.is_production,
            samesite="lax",
            path="/",
        )
        return response

    return router
