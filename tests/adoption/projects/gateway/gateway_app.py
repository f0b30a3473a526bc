"""An API gateway: FastAPI, pydantic-settings, httpx upstreams, its own async breaker, and an
API key on every request."""

import logging
import time
from contextlib import asynccontextmanager

import httpx
from fastapi import Depends, FastAPI, Header, HTTPException, Request
from pydantic_settings import BaseSettings, SettingsConfigDict

log = logging.getLogger("gateway")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_")
    api_key: str
    users_url: str = "https://users.internal.example"


class BreakerOpen(Exception):
    pass


class AsyncBreaker:
    def __init__(self, threshold=3, reset_timeout=30.0, clock=time.monotonic):
        self.threshold, self.reset_timeout, self._clock = threshold, reset_timeout, clock
        self.failures, self.opened_at = 0, None

    @property
    def state(self):
        if self.opened_at is None:
            return "closed"
        return "half-open" if self._clock() - self.opened_at >= self.reset_timeout else "open"

    async def call(self, fn, *args, **kwargs):
        if self.state == "open":
            raise BreakerOpen
        try:
            result = await fn(*args, **kwargs)
            result.raise_for_status()
        except httpx.HTTPError:
            self.failures += 1
            if self.failures >= self.threshold or self.opened_at is not None:
                self.opened_at = self._clock()
            raise
        self.failures, self.opened_at = 0, None
        return result

    def force_open(self):
        self.opened_at = self._clock()

    def reset(self):
        self.failures, self.opened_at = 0, None


def create_app():
    settings = Settings()
    breakers = {"users": AsyncBreaker()}

    @asynccontextmanager
    async def lifespan(app):
        async with httpx.AsyncClient(base_url=settings.users_url, timeout=5) as http:
            app.state.http = http
            yield

    def require_api_key(x_api_key: str = Header(default="")):
        if x_api_key != settings.api_key:
            raise HTTPException(401, "bad API key")

    app = FastAPI(lifespan=lifespan, dependencies=[Depends(require_api_key)])
    app.state.breakers = breakers

    @app.get("/users/{user_id}")
    async def user(user_id: int, request: Request):
        try:
            response = await breakers["users"].call(request.app.state.http.get, f"/users/{user_id}")
        except BreakerOpen:
            raise HTTPException(503, "users service unavailable") from None
        except httpx.HTTPError as error:
            log.warning("users service failed: %s", type(error).__name__)
            raise HTTPException(502, "users service failed") from None
        return response.json()

    @app.put("/users/{user_id}/notes")
    async def notes(user_id: int, request: Request):
        return {"user": user_id, "stored": len(await request.body())}

    return app
