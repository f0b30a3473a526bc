"""Shopify Admin GraphQL: read an order; degrade to the last good copy when Shopify is down."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from ._base import ProviderClient, ProviderError
from ._orders import OrderCache, OrderInfo

if TYPE_CHECKING:
    from reference_app.observability import ApmRegistry
    from reference_app.resilience import CircuitBreaker

__all__ = ["SHOP_DOMAIN", "ShopifyClient", "ShopifyError", "is_shop_domain"]

API_VERSION = "2025-10"
SHOP_DOMAIN = r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$"
_SHOP = re.compile(SHOP_DOMAIN)

ORDER_QUERY = """
query OrderForCall($id: ID!) {
  order(id: $id) {
    id
    name
    phone
    displayFinancialStatus
    paymentGatewayNames
    totalPriceSet { shopMoney { amount currencyCode } }
    customer { firstName }
  }
}
"""


class ShopifyError(ProviderError):
    provider = "shopify"


def is_shop_domain(shop: str) -> bool:
    """Only a merchant's ``*.myshopify.com`` domain: never an arbitrary host (SSRF)."""
    return bool(_SHOP.fullmatch(shop))


def _parse_graphql(response: httpx.Response) -> dict[str, Any]:
    payload = response.json()
    if not isinstance(payload, dict):
        raise TypeError("GraphQL response is not an object")
    errors = payload.get("errors") or []
    if any((e.get("extensions") or {}).get("code") == "THROTTLED" for e in errors):
        # Shopify reports GraphQL rate limiting with HTTP 200: it is a provider-side failure.
        raise ShopifyError("shopify fetch_order throttled", status_code=429)
    return payload


class ShopifyClient(ProviderClient):
    """``POST https://{shop}/admin/api/2025-10/graphql.json`` with ``X-Shopify-Access-Token``.

    Every good answer refreshes ``cache``; when Shopify is down (5xx, 429, timeout, open breaker)
    :meth:`get_order` answers from the cache, and raises :class:`ShopifyError` when it has nothing.
    """

    name = "shopify"
    error_type: ClassVar[type[ProviderError]] = ShopifyError

    def __init__(
        self,
        http: httpx.AsyncClient,
        breaker: CircuitBreaker,
        apm: ApmRegistry,
        *,
        access_token: str,
        cache: OrderCache,
        timeout: httpx.Timeout | None = None,
    ) -> None:
        super().__init__(http, breaker, apm, timeout=timeout or httpx.Timeout(10.0, connect=5.0))
        self._token = access_token
        self.cache = cache

    async def fetch_order(self, shop: str, order_id: str) -> OrderInfo:
        """The order from Shopify itself (no cache); raises ShopifyError (404 if unknown)."""
        if not is_shop_domain(shop):
            raise ShopifyError("shop must be a *.myshopify.com domain", status_code=400)
        url = f"https://{shop}/admin/api/{API_VERSION}/graphql.json"
        body = {"query": ORDER_QUERY, "variables": {"id": f"gid://shopify/Order/{order_id}"}}
        request = self._http.build_request(
            "POST", url, json=body, headers={"X-Shopify-Access-Token": self._token}
        )
        payload = await self._send("fetch_order", request, _parse_graphql)
        order = (payload.get("data") or {}).get("order")
        if not order:
            raise ShopifyError("order not found", status_code=404)
        info = OrderInfo.from_graphql(order_id, order)
        self.cache.put(shop, info)
        return info

    async def get_order(self, shop: str, order_id: str) -> OrderInfo:
        """Fresh order data, or the cached copy when Shopify is degraded."""
        try:
            return await self.fetch_order(shop, order_id)
        except ShopifyError as exc:
            cached = self.cache.get(shop, order_id) if exc.degraded else None
            if cached is None:
                raise
            return cached
