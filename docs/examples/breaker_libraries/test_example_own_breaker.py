"""Your own breaker: hand-written, on ``clock=time.monotonic`` captured when the app is built,
seen by the plugin through a three-method adapter."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import BreakerInspector, Clock, FaultInjector


class UpstreamBreaker:
    """The kind of breaker many gateways write for themselves."""

    def __init__(
        self,
        threshold: int = 3,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold, self.cooldown, self._clock = threshold, cooldown, clock
        self.failures = 0
        self.opened_at: float | None = None

    def allows(self) -> bool:
        return self.opened_at is None or self._clock() - self.opened_at >= self.cooldown

    def record(self, ok: bool) -> None:
        if ok:
            self.failures, self.opened_at = 0, None
            return
        self.failures += 1
        if self.failures >= self.threshold or self.opened_at is not None:
            self.opened_at = self._clock()


class UpstreamBreakerAdapter:
    """What the `breakers` fixture needs: state(), force_open(), reset()."""

    def __init__(self, breaker: UpstreamBreaker) -> None:
        self.breaker = breaker

    def state(self) -> str:
        if self.breaker.opened_at is None:
            return "CLOSED"
        return "HALF_OPEN" if self.breaker.allows() else "OPEN"

    def force_open(self) -> None:
        self.breaker.opened_at = self.breaker._clock()

    def reset(self) -> None:
        self.breaker.record(ok=True)


def create_app() -> Starlette:
    breaker = UpstreamBreaker()

    async def rate(request: Request) -> JSONResponse:
        if not breaker.allows():
            return JSONResponse({"eur": 1.0, "stale": True})
        try:
            async with httpx.AsyncClient(timeout=2) as http:
                response = await http.get("https://rates.example/eur")
                response.raise_for_status()
        except httpx.HTTPError:
            breaker.record(ok=False)
            return JSONResponse({"eur": 1.0, "stale": True})
        breaker.record(ok=True)
        return JSONResponse({"eur": response.json()["eur"], "stale": False})

    app = Starlette(routes=[Route("/rate", rate)])
    app.state.rates_breaker = breaker
    return app


@pytest.fixture
def hardening_breakers(hardened_app: Any) -> dict[str, UpstreamBreakerAdapter]:
    return {"rates": UpstreamBreakerAdapter(hardened_app.state.rates_breaker)}


def test_own_breaker_opens_and_the_clock_reaches_its_stored_monotonic(
    hardened_client: Any, faults: FaultInjector, clock: Clock, breakers: BreakerInspector
) -> None:
    faults.fail("rates", 503)
    for _ in range(3):
        assert hardened_client.get("/rate").json()["stale"] is True
    assert breakers.state("rates") == "OPEN"
    faults.heal("rates")
    clock.advance(30)  # moves the time.monotonic the breaker stored when the app was built
    assert breakers.state("rates") == "HALF_OPEN"
    assert hardened_client.get("/rate").json() == {"eur": 1.08, "stale": False}
    # No listener API: transitions are what the inspector observed, at each of its calls.
    assert breakers.transitions("rates") == [
        ("CLOSED", "OPEN"),
        ("OPEN", "HALF_OPEN"),
        ("HALF_OPEN", "CLOSED"),
    ]
