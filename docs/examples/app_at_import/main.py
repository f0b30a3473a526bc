"""An app built at import, as many are: the app, its settings and its breaker are made once,
when the module is first imported (there is no factory to name)."""

from __future__ import annotations

import os

import httpx
import pybreaker
from fastapi import FastAPI

APP_ENV = os.environ.get("APP_ENV", "development")
RATES_URL = os.environ.get("RATES_URL", "https://rates.example.com")
if APP_ENV == "production" and not RATES_URL.startswith("https://"):
    raise RuntimeError("RATES_URL: production calls the rates API over https only")
breaker = pybreaker.CircuitBreaker(fail_max=3, reset_timeout=30)

app = FastAPI(openapi_url=None if APP_ENV == "production" else "/openapi.json")
app.state.breakers = {"rates": breaker}


def _rate() -> float:
    response = httpx.get(f"{RATES_URL}/eur-usd", timeout=5)
    response.raise_for_status()
    return float(response.json()["rate"])


@app.get("/convert")
def convert(amount: float) -> dict[str, object]:
    try:
        rate = breaker.call(_rate)
    except (httpx.HTTPError, pybreaker.CircuitBreakerError):
        return {"amount": None, "degraded": True}
    return {"amount": amount * rate, "degraded": False}
