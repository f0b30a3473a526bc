"""Your own app, in a few lines: quotes from a pricing API, a pybreaker breaker around it, and a
cached answer while the breaker is open. Nothing here knows about pytest-hardening."""

from __future__ import annotations

import os

import httpx
import pybreaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def create_app() -> Starlette:
    breaker = pybreaker.CircuitBreaker(fail_max=3, reset_timeout=30)
    http = httpx.Client(base_url=os.environ["PRICING_URL"], timeout=2)

    def fetch() -> float:
        response = http.get("/price")
        response.raise_for_status()
        return float(response.json()["price"])

    def quote(request: Request) -> JSONResponse:  # sync: runs in the thread pool
        try:
            return JSONResponse({"price": breaker.call(fetch), "cached": False})
        except (httpx.HTTPError, pybreaker.CircuitBreakerError):
            return JSONResponse({"price": 9.99, "cached": True})

    app = Starlette(routes=[Route("/quote", quote)])
    app.state.breakers = {"pricing": breaker}  # where the harness looks for breakers
    return app
