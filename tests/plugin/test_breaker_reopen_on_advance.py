"""A probe that fails after the open timeout re-opens the breaker: the ``breakers`` fixture
records OPEN -> HALF_OPEN -> OPEN even when the test reads no state between ``clock.advance``
and the probe. circuitbreaker and hand-written breakers report HALF_OPEN lazily (on reading,
once the timeout has passed): the clock's advance is when they are looked at."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import circuitbreaker
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pytest_hardening import Provider


class LazyBreaker:
    """Hand-written, no listener: HALF_OPEN is only what ``state`` says once 30 s have passed."""

    def __init__(self) -> None:
        self.opened_at: float | None = None
        self.failures = 0

    @property
    def state(self) -> str:
        if self.opened_at is None:
            return "closed"
        return "half_open" if time.monotonic() - self.opened_at >= 30 else "open"

    def force_open(self) -> None:
        self.opened_at = time.monotonic()

    def reset(self) -> None:
        self.opened_at, self.failures = None, 0

    def failed(self) -> None:
        self.failures += 1
        if self.failures >= 2:
            self.force_open()


def create_app() -> Starlette:
    rates = circuitbreaker.CircuitBreaker(
        failure_threshold=2, recovery_timeout=30, name="rates", expected_exception=httpx.HTTPError
    )
    pay = LazyBreaker()

    @rates
    def fetch_rate() -> Any:
        return httpx.get("https://rates.example/eur", timeout=2).raise_for_status().json()

    def rate(request: Request) -> Response:
        try:
            return JSONResponse(fetch_rate())
        except (httpx.HTTPError, circuitbreaker.CircuitBreakerError):
            return JSONResponse({"stale": True}, status_code=503)

    def charge(request: Request) -> Response:
        if pay.state == "open":
            return JSONResponse({"error": "pay circuit open"}, status_code=503)
        try:
            response = httpx.get("https://pay.example/ok", timeout=2).raise_for_status()
        except httpx.HTTPError:
            pay.failed()
            return JSONResponse({"error": "pay down"}, status_code=502)
        pay.reset()
        return JSONResponse(response.json())

    app = Starlette(routes=[Route("/rate", rate), Route("/pay", charge)])
    app.state.breakers = {"rates": rates, "pay": pay}
    return app


@pytest.fixture
def hardening_app_factory() -> Any:
    return create_app


@pytest.fixture(autouse=True)
def _circuitbreaker_monitor_as_it_was() -> Iterator[None]:
    """Decorating with the "rates" circuit registers it in circuitbreaker's process-wide
    monitor, over the docs example's circuit of that name, which reads it from there."""
    before = dict(circuitbreaker.CircuitBreakerMonitor.circuit_breakers)
    yield
    circuitbreaker.CircuitBreakerMonitor.circuit_breakers.clear()
    circuitbreaker.CircuitBreakerMonitor.circuit_breakers.update(before)


@pytest.fixture
def hardening_providers() -> dict[str, Provider]:
    healthy = lambda request: httpx.Response(200, json={"ok": True})  # noqa: E731
    return {name: Provider(f"https://{name}.example", healthy) for name in ("rates", "pay")}


@pytest.mark.parametrize(("provider", "path"), [("rates", "/rate"), ("pay", "/pay")])
def test_a_failed_probe_is_recorded_as_a_reopen(
    hardened_client: Any, faults: Any, clock: Any, breakers: Any, provider: str, path: str
) -> None:
    faults.refuse(provider)
    for _ in range(2):
        hardened_client.get(path)
    assert breakers.state(provider) == "OPEN"
    clock.advance(30)
    hardened_client.get(path)  # the probe: refused, the breaker opens again
    assert len(faults.calls(provider)) == 3  # the probe reached the provider
    assert breakers.transitions(provider) == [
        ("CLOSED", "OPEN"),
        ("OPEN", "HALF_OPEN"),
        ("HALF_OPEN", "OPEN"),
    ]
