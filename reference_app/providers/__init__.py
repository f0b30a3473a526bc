"""Provider clients over httpx (OpenAI: the official SDK over httpx2): each with a timeout, its
breaker, APM recording, a typed error."""

from __future__ import annotations

from ._base import ProviderClient, ProviderError
from ._exotel import ExotelCall, ExotelClient, ExotelError
from ._google import GoogleError, GoogleOAuthClient, GoogleTokens
from ._httpx2_bridge import HttpxTransportBridge
from ._openai import OpenAIClient, OpenAIError, no_retry_past_the_budget, template_script
from ._orders import OrderCache, OrderInfo
from ._shopify import SHOP_DOMAIN, ShopifyClient, ShopifyError, is_shop_domain
from ._wasabi import WasabiClient, WasabiError

__all__ = [
    "SHOP_DOMAIN",
    "ExotelCall",
    "ExotelClient",
    "ExotelError",
    "GoogleError",
    "GoogleOAuthClient",
    "GoogleTokens",
    "HttpxTransportBridge",
    "OpenAIClient",
    "OpenAIError",
    "OrderCache",
    "OrderInfo",
    "ProviderClient",
    "ProviderError",
    "ShopifyClient",
    "ShopifyError",
    "WasabiClient",
    "WasabiError",
    "is_shop_domain",
    "no_retry_past_the_budget",
    "template_script",
]
