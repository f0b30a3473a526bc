"""Circuit breakers by example, part 2: fallbacks and which outcomes count as failures."""

from __future__ import annotations

import httpx
import pytest

from reference_app.resilience import (
    CircuitBreaker,
    CircuitOpenError,
    ManualClock,
    State,
    http_failure,
)


def test_fallback_answers_while_open() -> None:
    breaker = CircuitBreaker("openai", failure_threshold=1, clock=ManualClock())
    breaker.force_open()

    def write_script() -> str:
        raise AssertionError("not called while the breaker is open")

    def template_script(error: CircuitOpenError) -> str:
        return f"Hello! (template script: {error.name} unavailable)"

    assert breaker.call(write_script, fallback=template_script) == (
        "Hello! (template script: openai unavailable)"
    )


def test_fallback_is_not_used_for_the_calls_own_failure() -> None:
    # A fallback covers "the breaker said no", not "the provider failed": that error is yours.
    breaker = CircuitBreaker("openai", failure_threshold=5, clock=ManualClock())

    def boom() -> str:
        raise TimeoutError("read timeout")

    with pytest.raises(TimeoutError):
        breaker.call(boom, fallback=lambda error: "template")


def respond(status: int) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", "https://api.exotel.com/x"))


def test_4xx_is_the_callers_fault_and_does_not_trip_the_breaker() -> None:
    # A 404 or 422 means *our* request was wrong; the provider is fine. Opening the breaker
    # would cut off every other caller for a bug in one request.
    breaker = CircuitBreaker(
        "exotel", failure_threshold=3, is_failure_result=http_failure, clock=ManualClock()
    )
    for _ in range(10):
        assert breaker.call(respond, 422).status_code == 422
    assert breaker.state == State.CLOSED


def test_5xx_and_429_do_trip_it() -> None:
    breaker = CircuitBreaker(
        "exotel", failure_threshold=3, is_failure_result=http_failure, clock=ManualClock()
    )
    for status in (503, 429, 500):
        breaker.call(respond, status)  # the response is still returned to the caller
    assert breaker.state == State.OPEN
