"""A FastAPI app calling a payments API through pybreaker, breakers on app.state."""

from __future__ import annotations

import httpx
import pybreaker
from fastapi import FastAPI, HTTPException


def post_charge() -> httpx.Response:
    response = httpx.post("https://api.payments.example/v1/charges")
    response.raise_for_status()
    return response


def create_app() -> FastAPI:
    payments = pybreaker.CircuitBreaker(fail_max=3, reset_timeout=30, name="payments")
    app = FastAPI()
    app.state.breakers = {"payments": payments}

    @app.post("/charges")
    def charge() -> dict[str, str]:
        try:
            payments.call(post_charge)
        except pybreaker.CircuitBreakerError:
            raise HTTPException(503, "payments paused") from None
        except httpx.HTTPError:
            raise HTTPException(502, "payments failed") from None
        return {"status": "charged"}

    return app
