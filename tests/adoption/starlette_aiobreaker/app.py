"""A Starlette app with an aiobreaker breaker at module level (not on app.state)."""

from __future__ import annotations

from datetime import timedelta

import httpx
from aiobreaker import CircuitBreaker, CircuitBreakerError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

search_breaker = CircuitBreaker(fail_max=2, timeout_duration=timedelta(seconds=20))


async def _search(term: str) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        response = await http.get("https://search.example/q", params={"term": term})
        response.raise_for_status()
        return response


async def search(request: Request) -> JSONResponse:
    try:
        response = await search_breaker.call_async(_search, request.query_params["term"])
    except (CircuitBreakerError, httpx.HTTPError):
        return JSONResponse({"hits": [], "degraded": True})
    return JSONResponse({"hits": response.json()["hits"], "degraded": False})


def create_app() -> Starlette:
    return Starlette(routes=[Route("/search", search)])
