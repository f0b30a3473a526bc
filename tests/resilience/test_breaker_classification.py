"""Which outcomes count as failures: exception types, ignore list, predicates, trip policies."""

from __future__ import annotations

import sys

import httpx
import pytest

from reference_app.resilience import (
    CircuitBreaker,
    ConsecutiveFailures,
    FailureRate,
    ManualClock,
    State,
    TripPolicy,
    http_failure,
)


class Transport(ConnectionError):
    pass


class Validation(ValueError):
    pass


def raiser(exc: BaseException) -> None:
    raise exc


def test_only_failure_on_types_count() -> None:
    breaker = CircuitBreaker("t", failure_threshold=2, failure_on=(ConnectionError,))
    for _ in range(5):
        with pytest.raises(Validation):
            breaker.call(raiser, Validation())
    assert breaker.state is State.CLOSED
    m = breaker.metrics()
    assert (m.failures, m.ignored, m.consecutive_failures) == (0, 5, 0)
    for _ in range(2):
        with pytest.raises(Transport):
            breaker.call(raiser, Transport())
    assert breaker.state is State.OPEN


def test_ignored_types_pass_through_without_resetting_the_count() -> None:
    breaker = CircuitBreaker("t", failure_threshold=3, ignore=(Validation,))
    for exc in (Transport(), Transport(), Validation()):
        with pytest.raises(type(exc)):
            breaker.call(raiser, exc)
    m = breaker.metrics()
    assert (m.consecutive_failures, m.ignored) == (2, 1)
    with pytest.raises(Transport):
        breaker.call(raiser, Transport())
    assert breaker.state is State.OPEN


def test_ignore_wins_over_failure_on() -> None:
    breaker = CircuitBreaker(
        "t", failure_threshold=1, failure_on=(Exception,), ignore=(Validation,)
    )
    with pytest.raises(Validation):
        breaker.call(raiser, Validation())
    assert breaker.state is State.CLOSED


def test_keyboard_interrupt_is_not_a_failure_by_default() -> None:
    breaker = CircuitBreaker("t", failure_threshold=1)
    with pytest.raises(KeyboardInterrupt):
        breaker.call(raiser, KeyboardInterrupt())
    assert breaker.state is State.CLOSED


def test_result_predicate_counts_failures_but_returns_the_value() -> None:
    breaker = CircuitBreaker(
        "t", failure_threshold=2, is_failure_result=lambda r: r == "bad", clock=ManualClock()
    )
    assert breaker.call(lambda: "bad") == "bad"
    assert breaker.call(lambda: "good") == "good"
    assert breaker.metrics().consecutive_failures == 0
    breaker.call(lambda: "bad")
    breaker.call(lambda: "bad")
    assert breaker.state is State.OPEN


class StatusError(Exception):
    """An app-level provider error that carries the HTTP status (or None) itself."""

    def __init__(self, status_code: int | None) -> None:
        super().__init__(status_code)
        self.status_code = status_code


def response(status: int) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("GET", "https://provider.test/x"))


@pytest.mark.parametrize(
    ("status", "counts"),
    [(200, False), (201, False), (400, False), (404, False), (422, False), (429, True),
     (500, True), (502, True), (503, True)],
)  # fmt: skip
def test_http_failure_on_responses(status: int, counts: bool) -> None:
    assert http_failure(response(status)) is counts


@pytest.mark.parametrize(
    ("exc", "counts"),
    [
        (httpx.ConnectError("refused"), True),
        (httpx.ReadTimeout("slow"), True),
        (httpx.HTTPStatusError("x", request=response(503).request, response=response(503)), True),
        (httpx.HTTPStatusError("x", request=response(404).request, response=response(404)), False),
        (RuntimeError("anything else"), True),
        (StatusError(404), False),
        (StatusError(429), True),
        (StatusError(None), True),
    ],
)
def test_http_failure_on_exceptions(exc: BaseException, counts: bool) -> None:
    assert http_failure(exc) is counts


def test_http_breaker_is_not_tripped_by_client_errors() -> None:
    breaker = CircuitBreaker(
        "provider", failure_threshold=2, is_failure_result=http_failure,
        is_failure_exception=http_failure,
    )  # fmt: skip

    def raise_for_status(status: int) -> httpx.Response:
        return response(status).raise_for_status()

    for _ in range(5):
        assert breaker.call(response, 404).status_code == 404
        with pytest.raises(httpx.HTTPStatusError):
            breaker.call(raise_for_status, 404)
    assert breaker.state is State.CLOSED
    breaker.call(response, 429)
    with pytest.raises(httpx.HTTPStatusError):
        breaker.call(raise_for_status, 503)
    assert breaker.state is State.OPEN


def test_http_failure_module_does_not_import_httpx() -> None:
    module = sys.modules[http_failure.__module__]

    assert "httpx" not in vars(module)


def test_failure_rate_policy_needs_minimum_calls_then_trips_on_rate() -> None:
    policy = FailureRate(0.5, window=10, minimum_calls=4)
    breaker = CircuitBreaker("rate", trip_policy=policy, clock=ManualClock())
    for _ in range(3):
        with pytest.raises(Transport):
            breaker.call(raiser, Transport())
    assert breaker.state is State.CLOSED, "below minimum_calls, 100 % must not trip"
    breaker.call(lambda: None)
    assert breaker.state is State.OPEN  # 3 of 4 failed
    assert breaker.transitions[-1].reason == "failure rate 75% over last 4 calls"


def test_failure_rate_policy_tolerates_interleaved_successes() -> None:
    # Alternating outcomes never reach 5 consecutive failures but are a 50 % failure rate.
    breaker = CircuitBreaker("rate", trip_policy=FailureRate(0.6, window=10, minimum_calls=10))
    for _ in range(5):
        breaker.call(lambda: None)
        with pytest.raises(Transport):
            breaker.call(raiser, Transport())
    assert breaker.state is State.CLOSED  # 50 % < 60 %
    with pytest.raises(Transport):
        breaker.call(raiser, Transport())
    assert breaker.state is State.OPEN  # the oldest success slid out: 6 failures of last 10


def test_failure_rate_window_slides() -> None:
    policy = FailureRate(0.5, window=4, minimum_calls=4)
    outcomes = [True, True, False, False, False, False]
    reasons = [policy.record(failed) for failed in outcomes]
    assert reasons[:4] == [None, None, None, "failure rate 50% over last 4 calls"]
    assert policy.failure_rate == 0.0  # the two failures slid out


def test_explicit_consecutive_policy_matches_default() -> None:
    policy = ConsecutiveFailures(2)
    assert isinstance(policy, TripPolicy)
    breaker = CircuitBreaker("c", trip_policy=policy)
    with pytest.raises(Transport):
        breaker.call(raiser, Transport())
    breaker.call(lambda: None)
    for _ in range(2):
        with pytest.raises(Transport):
            breaker.call(raiser, Transport())
    assert breaker.transitions[-1].reason == "2 consecutive failures"


@pytest.mark.parametrize(
    "make",
    [
        lambda: FailureRate(0),
        lambda: FailureRate(1.5),
        lambda: FailureRate(0.5, window=0),
        lambda: FailureRate(0.5, window=5, minimum_calls=6),
        lambda: ConsecutiveFailures(0),
    ],
)
def test_policies_validate_arguments(make: object) -> None:
    with pytest.raises(ValueError, match="must be"):
        make()  # type: ignore[operator]
