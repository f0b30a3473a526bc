"""Fixture reference: ``faults``, ``clock`` and ``breakers`` against the reference app."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import httpx
import pytest

from pytest_hardening import BreakerInspector, Clock, FaultInjector, Provider

CALL = {"order_id": "5521", "shop": "acme.myshopify.com", "phone": "+919876543210"}


def test_a_fault_for_the_next_n_calls_then_healthy(
    hardened_client: Any, faults: FaultInjector
) -> None:
    faults.fail("exotel", 502, times=2)
    statuses = [hardened_client.post("/api/calls", json=CALL).status_code for _ in range(3)]
    assert statuses == [202, 202, 201]  # queued twice, then Exotel is back
    assert [c.outcome for c in faults.calls("exotel")] == ["fail 502", "fail 502", "ok 200"]


def test_refused_connections_and_timeouts(
    hardened_client: Any,
    faults: FaultInjector,
    clock: Clock,  # clock: the SDK's back-off
) -> None:
    faults.refuse("exotel", times=1)
    faults.timeout("openai", kind="connect")  # every attempt of the OpenAI SDK times out
    created = hardened_client.post("/api/calls", json=CALL)
    assert created.status_code == 202  # no call placed, but stored
    assert created.json()["script"].startswith("Hello Asha!")  # the template script


def test_latency_is_virtual(
    hardened_client: Any, faults: FaultInjector, clock: Clock, breakers: BreakerInspector
) -> None:
    before = clock.monotonic()
    faults.latency("openai", 30.0)  # past the OpenAI client's 3 s read timeout
    assert hardened_client.post("/api/calls", json=CALL).status_code == 201
    # Two attempts (the SDK retries once), each timing out after 3 s, and the SDK's back-off
    # between them: all of it virtual, the test did not wait.
    assert clock.monotonic() - before == pytest.approx(6.0 + sum(faults.retry_sleeps))
    assert [c.outcome for c in faults.calls("openai")] == ["latency ReadTimeout"] * 2


def test_rate_limit_garbage_and_scripted_sequences(
    hardened_client: Any, faults: FaultInjector, breakers: BreakerInspector
) -> None:
    faults.rate_limit("exotel", retry_after=30, times=1)  # 429 + Retry-After: 30
    faults.garbage("openai", times=1)  # 200 with an unparseable body
    faults.sequence("shopify", [503, httpx.ConnectError, "ok"])
    for _ in range(3):
        hardened_client.post("/api/calls", json=CALL)
    assert [c.outcome for c in faults.calls("shopify")] == [
        "fail 503",
        "sequence ConnectError",
        "ok 200",
    ]
    assert breakers.state("exotel") == "CLOSED"  # one 429 is not five


def test_breakers_fixture_forces_and_reads_state(
    hardened_client: Any, faults: FaultInjector, breakers: BreakerInspector
) -> None:
    breakers.force_open("exotel")
    assert hardened_client.post("/api/calls", json=CALL).status_code == 202
    assert faults.calls("exotel") == []  # an open breaker never calls the provider
    assert breakers.transitions("exotel") == [("CLOSED", "OPEN")]
    breakers.reset("exotel")
    assert breakers.state("exotel") == "CLOSED"


def translator_error(status: int) -> dict[str, Any]:
    return {"error": {"code": status, "message": HTTPStatus(status).phrase}}


def test_a_provider_with_its_own_error_shape() -> None:
    translator = Provider("https://api.funtranslations.com", errors=translator_error)
    with FaultInjector({"fun": translator}) as faults, httpx.Client() as http:
        faults.rate_limit("fun", times=1)
        answer = http.post("https://api.funtranslations.com/translate/yoda.json")
    assert answer.json()["error"] == {"code": 429, "message": "Too Many Requests"}
