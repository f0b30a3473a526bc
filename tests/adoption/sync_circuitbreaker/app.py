"""A sync FastAPI route behind circuitbreaker's @circuit decorator."""

from __future__ import annotations

import httpx
from circuitbreaker import CircuitBreakerError, circuit
from fastapi import FastAPI


@circuit(failure_threshold=3, recovery_timeout=45, name="adoption-inventory")
def stock_level(sku: str) -> int:
    response = httpx.get(f"https://inventory.example/stock/{sku}")
    response.raise_for_status()
    level: int = response.json()["level"]
    return level


def create_app() -> FastAPI:
    app = FastAPI()

    @app.get("/stock/{sku}")
    def stock(sku: str) -> dict[str, object]:
        try:
            return {"sku": sku, "level": stock_level(sku)}
        except (CircuitBreakerError, httpx.HTTPError):
            return {"sku": sku, "level": None}

    return app
