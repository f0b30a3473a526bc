"""Request-scoped access to the app instance's services, and the admin check.

The dependencies are ``async def``: none of them blocks, and FastAPI runs a plain ``def``
dependency in its thread pool, a round trip between threads on every request.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any, cast

from fastapi import Depends, HTTPException, Request, status

from reference_app._services import Services
from reference_app.config import Settings

__all__ = [
    "ServicesDep",
    "SettingsDep",
    "is_admin",
    "require_admin",
    "require_admin_in_production",
    "services",
    "settings",
]


async def services(request: Request) -> Services:
    """The per-app services the lifespan built (503 if the app was not started)."""
    found: Any = getattr(request.app.state, "services", None)
    if found is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "service is starting")
    return cast(Services, found)


def _settings(request: Request) -> Settings:
    return cast(Settings, request.app.state.settings)


async def settings(request: Request) -> Settings:
    return _settings(request)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def is_admin(request: Request) -> bool:
    """Constant-time check of ``Authorization: Bearer <MONITORING_ADMIN_TOKEN>``."""
    token = _bearer(request)
    expected = _settings(request).monitoring_admin_token
    if token is None or expected is None:
        return False
    return hmac.compare_digest(token.encode(), expected.get_secret_value().encode())


async def require_admin(request: Request) -> None:
    """401 without a bearer token, 403 with a wrong one (or when no admin token is configured)."""
    _check_admin(request)


def _check_admin(request: Request) -> None:
    if _bearer(request) is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "admin bearer token required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if not is_admin(request):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not allowed")


async def require_admin_in_production(request: Request) -> None:
    """Monitoring details are public in development, admin-only in production."""
    if _settings(request).is_production:
        _check_admin(request)


ServicesDep = Annotated[Services, Depends(services)]
SettingsDep = Annotated[Settings, Depends(settings)]
