"""HTTP routers (calls, webhooks, auth, monitoring, development-only test routes)."""

from __future__ import annotations

from ._auth import auth_router
from ._calls import calls_router
from ._dev import dev_router
from ._errors import install_error_handlers
from ._merchant_auth import Merchant, MerchantRateLimiter, authenticate
from ._monitoring import health_status, monitoring_router
from ._schemas import CallCreate, CallOut, mask_phone
from ._webhooks import shopify_signature, webhooks_router

__all__ = [
    "CallCreate",
    "CallOut",
    "Merchant",
    "MerchantRateLimiter",
    "auth_router",
    "authenticate",
    "calls_router",
    "dev_router",
    "health_status",
    "install_error_handlers",
    "mask_phone",
    "monitoring_router",
    "shopify_signature",
    "webhooks_router",
]
