"""An app that joins a service registry when it starts and leaves it when it stops, through a
client that is not httpx (urllib here; python-consul uses requests): no provider reaches it."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


class Registry:
    def __init__(self, url: str) -> None:
        if not url.startswith(("http://", "https://")):
            raise ValueError("REGISTRY_URL must be an http(s) URL")
        self._url = url.rstrip("/")

    def register(self, name: str) -> None:
        urllib.request.urlopen(f"{self._url}/register/{name}", data=b"", timeout=5)  # noqa: S310

    def deregister(self, name: str) -> None:
        urllib.request.urlopen(f"{self._url}/deregister/{name}", data=b"", timeout=5)  # noqa: S310


def create_app() -> Starlette:
    registry = Registry(os.environ["REGISTRY_URL"])

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        registry.register("orders")
        yield
        registry.deregister("orders")

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(routes=[Route("/health", health)], lifespan=lifespan)
