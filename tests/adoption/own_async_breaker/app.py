"""A hand-written async breaker that stored time.monotonic when the app was built, and a plain
ASGI app (no framework) with a lifespan."""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx


class Breaker:
    def __init__(
        self,
        threshold: int = 2,
        cooldown: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold, self.cooldown, self.clock = threshold, cooldown, clock
        self.failures = 0
        self.opened_at: float | None = None

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if self.clock() - self.opened_at >= self.cooldown else "open"

    async def call(self, fn: Callable[[], Awaitable[httpx.Response]]) -> httpx.Response:
        if self.state == "open":
            raise RuntimeError("breaker open")
        try:
            response = await fn()
            response.raise_for_status()
        except httpx.HTTPError:
            self.failures += 1
            if self.failures >= self.threshold or self.opened_at is not None:
                self.opened_at = self.clock()
            raise
        self.failures, self.opened_at = 0, None
        return response

    def force_open(self) -> None:
        self.opened_at = self.clock()

    def reset(self) -> None:
        self.failures, self.opened_at = 0, None


class ShippingApp:
    """A bare ASGI callable: no Starlette, no FastAPI."""

    def __init__(self) -> None:
        self.quotes_breaker = Breaker()
        self.http: httpx.AsyncClient | None = None

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    self.http = httpx.AsyncClient(base_url="https://quotes.example")
                    await send({"type": "lifespan.startup.complete"})
                else:
                    assert self.http is not None
                    await self.http.aclose()
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        assert self.http is not None
        http = self.http
        try:
            response = await self.quotes_breaker.call(lambda: http.get("/quote"))
            status, body = 200, {"price": response.json()["price"]}
        except (RuntimeError, httpx.HTTPError):
            status, body = 503, {"price": None}
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(body).encode()})


def create_app() -> ShippingApp:
    return ShippingApp()
