"""A FastAPI app that reads its settings through the cached getter, at build and per request."""

from __future__ import annotations

from typing import Annotated

import httpx
from fastapi import Depends, FastAPI

from .config import Settings, get_settings


def create_app() -> FastAPI:
    settings = get_settings()
    app = FastAPI(docs_url=None if settings.app_env == "production" else "/docs")
    payments = httpx.AsyncClient(base_url=settings.payments_url, timeout=2)

    @app.post("/charge")
    async def charge(settings: Annotated[Settings, Depends(get_settings)]) -> dict[str, object]:
        response = await payments.post("/charges", json={"amount": 100})
        return {"env": settings.app_env, "charged": response.status_code == 201}

    return app
