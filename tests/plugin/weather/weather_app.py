"""A small second app (not the reference app) that the plugin's tests harden.

FastAPI, httpx to an external weather API through a pybreaker breaker, Sentry with its own
scrubbing, a tiny APM recorder, a production settings check and development-only routes.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import pybreaker
import sentry_sdk
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

WEATHER_DEFAULT = "https://api.weather.example"


class SettingsError(RuntimeError):
    """Refused production configuration."""


@dataclass(frozen=True)
class Stats:
    count: int
    errors: int
    error_rate: float
    p50: float
    p95: float
    max: float


@dataclass(frozen=True)
class Alert:
    kind: str
    subject: str
    duration: float


class MiniApm:
    """Just enough APM for the plugin's ``apm`` fixture."""

    def __init__(self, slow: float = 1.0) -> None:
        self.slow = slow
        self._samples: dict[str, list[tuple[float, bool]]] = {}
        self.alerts: list[Alert] = []

    def record(self, key: str, duration: float, *, ok: bool, kind: str = "slow_endpoint") -> None:
        self._samples.setdefault(key, []).append((duration, ok))
        if duration > self.slow:
            self.alerts.append(Alert(kind, key, duration))

    def _stats(self, key: str) -> Stats:
        samples = self._samples.get(key, [])
        durations = sorted(d for d, _ in samples) or [0.0]
        errors = sum(1 for _, ok in samples if not ok)
        q = statistics.quantiles(durations, n=100) if len(durations) > 1 else durations * 99
        return Stats(
            len(samples),
            errors,
            errors / len(samples) if samples else 0.0,
            q[49],
            q[94],
            durations[-1],
        )

    def endpoint(self, key: str) -> Stats:
        return self._stats(key)

    def external(self, provider: str) -> Stats:
        return self._stats(f"external:{provider}")

    def db(self) -> Stats:
        return self._stats("db")

    def reset(self) -> None:
        self._samples.clear()
        self.alerts.clear()


def _scrub(event: Any, hint: Any) -> Any:
    for value in (event.get("exception") or {}).get("values", []):
        value["value"] = "<scrubbed>"
        for frame in (value.get("stacktrace") or {}).get("frames", []):
            frame.pop("vars", None)
    return event


def _check_production(env: os._Environ[str]) -> None:
    missing = [n for n in ("WEATHER_API_URL", "WEATHER_API_KEY") if not env.get(n)]
    if missing:
        raise SettingsError(f"missing required settings: {', '.join(missing)}")
    url = urlsplit(env["WEATHER_API_URL"])
    if url.scheme != "https" or url.hostname in (None, "localhost", "127.0.0.1"):
        raise SettingsError("WEATHER_API_URL must be an https URL of a public host")


def create_app() -> FastAPI:
    env = os.environ
    production = env.get("APP_ENV") == "production"
    if production:
        _check_production(env)
    base_url = env.get("WEATHER_API_URL", WEATHER_DEFAULT)
    if env.get("SENTRY_DSN"):
        sentry_sdk.init(dsn=env["SENTRY_DSN"], before_send=_scrub, traces_sample_rate=1.0)
    breaker = pybreaker.CircuitBreaker(fail_max=3, reset_timeout=30, name="weather")
    apm = MiniApm()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[dict[str, Any]]:
        # Bound to the loop that runs lifespan: the plugin must serve requests from it.
        tls = httpx.create_ssl_context()  # one CA bundle load for both clients
        async with httpx.AsyncClient(base_url=base_url, timeout=2.0, verify=tls) as http:
            with httpx.Client(base_url=base_url, timeout=2.0, verify=tls) as sync_http:
                app.state.lifespan = "running"
                yield {"http": http, "sync_http": sync_http}
        app.state.lifespan = "stopped"

    app = FastAPI(lifespan=lifespan)
    app.state.lifespan = "not started"
    app.state.breakers = {"weather": breaker}
    app.state.apm = apm

    @app.middleware("http")
    async def timing(request: Request, call_next: Any) -> Any:
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        key = f"{request.method} {getattr(route, 'path', request.url.path)}"
        apm.record(key, time.perf_counter() - started, ok=response.status_code < 500)
        return response

    @app.get("/forecast/{city}")
    async def forecast(city: str, request: Request) -> Any:
        http: httpx.AsyncClient = request.state.http
        started = time.perf_counter()
        try:
            with breaker.calling():
                response = await http.get(f"/v1/forecast/{city}")
                response.raise_for_status()
        except pybreaker.CircuitBreakerError:
            return JSONResponse({"error": "weather unavailable"}, 503, {"Retry-After": "30"})
        except httpx.HTTPError:
            return JSONResponse({"error": "weather provider failed"}, 502)
        finally:
            elapsed = time.perf_counter() - started
            apm.record("external:weather", elapsed, ok=True, kind="slow_external")
        return {"city": city, "forecast": response.json()}

    @app.get("/sync-forecast/{city}")
    def sync_forecast(city: str, request: Request) -> Any:
        http: httpx.Client = request.state.sync_http
        try:
            response = breaker.call(http.get, f"/v1/forecast/{city}")
        except pybreaker.CircuitBreakerError:
            return JSONResponse({"error": "weather unavailable"}, 503)
        except httpx.HTTPError:
            return JSONResponse({"error": "weather provider failed"}, 502)
        return {"city": city, "status": response.status_code}

    @app.get("/time")
    def sync_time() -> dict[str, float]:
        return {"monotonic": time.monotonic(), "time": time.time()}

    @app.get("/async-time")
    async def async_time() -> dict[str, float]:
        return {"monotonic": time.monotonic(), "time": time.time()}

    @app.get("/geo")
    async def geo(request: Request) -> Any:
        # A host nobody declared: the plugin must flag it even though the app swallows it.
        try:
            await request.state.http.get("https://geo.unknown.example/lookup")
        except httpx.HTTPError:
            return {"geo": None}
        return {"geo": "?"}

    @app.get("/boom")  # reads the env at request time: hardened_app keeps it set
    async def boom() -> None:
        raise RuntimeError(f"db password {os.environ.get('DB_PASSWORD')} in a message")

    if not production:

        @app.get("/debug/env")
        def debug_env() -> dict[str, str]:
            return {"mode": "development"}

        @app.post("/debug/reset")
        def debug_reset() -> dict[str, bool]:
            return {"reset": True}

    return app
