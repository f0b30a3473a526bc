"""A sync app whose breakers come from purgatory's SyncCircuitBreakerFactory."""

from __future__ import annotations

import httpx
from purgatory import SyncCircuitBreakerFactory
from purgatory.domain.model import OpenedState
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


def create_app() -> Starlette:
    circuits = SyncCircuitBreakerFactory(default_threshold=2, default_ttl=10)

    def geocode(request: Request) -> JSONResponse:
        try:
            with circuits.get_breaker("geo"):
                response = httpx.get("https://geo.example/lookup")
                response.raise_for_status()
        except (OpenedState, httpx.HTTPError):
            return JSONResponse({"city": None})
        return JSONResponse({"city": response.json()["city"]})

    app = Starlette(routes=[Route("/geocode", geocode)])  # sync: runs in Starlette's threadpool
    app.state.breakers = circuits
    return app
