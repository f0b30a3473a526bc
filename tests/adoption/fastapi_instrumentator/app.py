"""A FastAPI app measured with prometheus-fastapi-instrumentator, as its README teaches
(the default prometheus registry, ``/metrics`` exposed), and a metric of its own."""

from __future__ import annotations

import httpx
from fastapi import FastAPI, HTTPException
from prometheus_client import Counter
from prometheus_fastapi_instrumentator import Instrumentator

#: A business metric on the default registry, as apps declare them: at import.
ORDERS_SYNCED = Counter("shop_orders_synced", "Orders read from the shop", ["shop"])


def create_app() -> FastAPI:
    app = FastAPI()
    shop = httpx.AsyncClient(base_url="https://eu.shop.example", timeout=5.0)

    @app.get("/orders/{shop_id}")
    async def orders(shop_id: str) -> dict[str, int]:
        try:
            response = (await shop.get(f"/{shop_id}/orders")).raise_for_status()
        except httpx.HTTPError:
            raise HTTPException(502, "the shop is unavailable") from None
        found = len(response.json()["orders"])
        ORDERS_SYNCED.labels(shop=shop_id).inc(found)
        return {"orders": found}

    @app.get("/crash")
    async def crash() -> None:
        raise RuntimeError("a bug")

    Instrumentator().instrument(app).expose(app)
    return app
