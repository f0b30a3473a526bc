"""The script comes from the official OpenAI SDK (streamed, over the app's httpx2 client).

Through the HTTP API: whatever OpenAI does (fails, throttles, hangs, talks garbage, cuts or
stalls the stream), ``POST /api/calls`` answers 201 with the template script; the breaker counts
one failure per script, not per SDK retry; the SDK's back-off runs in virtual time (``clock``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
import httpx2
import openai
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pytest_hardening import ApmView, BreakerInspector, Clock, FaultInjector
from pytest_hardening.fakes import sse
from reference_app import ConfigurationError, create_app, fakes, load_settings
from reference_app.providers import HttpxTransportBridge
from reference_app.testing import DEV_ENV

from .conftest import MERCHANT_HEADERS, new_call

TEMPLATE = "Hello Asha! We are calling to confirm your order #5521"
MODEL_SCRIPT = "Namaste!"  # the OpenAI fake's completion (reference_app.fakes.openai)


@pytest.fixture
def openai_max_retries() -> str:
    return ""  # unset: the app's default; parametrized below


@pytest.fixture
def hardening_dev_env(hardening_database_url: str, openai_max_retries: str) -> dict[str, str]:
    """The plugin's development env plus this test's OPENAI_MAX_RETRIES."""
    return {
        **DEV_ENV,
        "DATABASE_URL": hardening_database_url,
        "OPENAI_MAX_RETRIES": openai_max_retries,
    }


def _script(client: TestClient) -> str:
    response = client.post("/api/calls", json=new_call())
    assert response.status_code == 201, response.text
    script: str = response.json()["script"]
    return script


def _openai_breaker(client: TestClient) -> dict[str, Any]:
    breakers = client.get("/api/monitoring/circuit-breakers").json()["circuit_breakers"]
    openai: dict[str, Any] = breakers["openai"]
    return openai


def test_the_script_is_the_sdks_streamed_completion(
    hardened_client: TestClient, faults: FaultInjector
) -> None:
    assert _script(hardened_client).startswith(MODEL_SCRIPT)

    [call] = faults.calls("openai")
    assert call.outcome == "ok 200"
    request = call.request
    assert request.headers["user-agent"].startswith("AsyncOpenAI/Python")  # the official SDK
    assert b'"stream":true' in request.content.replace(b" ", b"")
    assert b"+919876543210" not in request.content  # the phone number never goes to OpenAI


# fault -> how many requests one script costs with the default OPENAI_MAX_RETRIES=1
RETRIED = 2
FAULTS: dict[str, tuple[Callable[[FaultInjector], None], int]] = {
    "fail 503": (lambda f: f.fail("openai", 503), RETRIED),
    "rate_limit": (lambda f: f.rate_limit("openai", retry_after=1), RETRIED),
    # A longer wait than a script has: not retried, so the breaker counts it (not the cap).
    "rate_limit 20s": (lambda f: f.rate_limit("openai", retry_after=20), 1),
    "timeout": (lambda f: f.timeout("openai"), RETRIED),
    "refuse": (lambda f: f.refuse("openai"), RETRIED),
    "latency 30s": (lambda f: f.latency("openai", 30.0), RETRIED),  # past the 3 s read timeout
    "garbage": (lambda f: f.garbage("openai"), 1),  # a 200: the SDK does not retry it
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_openai_failing_gives_201_with_the_template_script(
    fault: str, hardened_client: TestClient, faults: FaultInjector, clock: Clock
) -> None:
    inject, requests = FAULTS[fault]
    inject(faults)

    assert _script(hardened_client).startswith(TEMPLATE)

    outcomes = [call.outcome for call in faults.calls("openai")]
    assert len(outcomes) == requests, outcomes  # 1 + max_retries when the SDK retries
    assert _openai_breaker(hardened_client)["failures"] == 1  # one script, one failure


def test_a_refused_request_is_not_retried_and_does_not_trip_the_breaker(
    hardened_client: TestClient, faults: FaultInjector
) -> None:
    faults.fail("openai", 400)

    assert _script(hardened_client).startswith(TEMPLATE)

    assert len(faults.calls("openai")) == 1
    assert _openai_breaker(hardened_client)["failures"] == 0


@pytest.mark.parametrize("openai_max_retries", ["0", "1", "3"])
def test_the_breaker_opens_after_five_scripts_whatever_the_sdk_retries(
    openai_max_retries: str,
    hardened_client: TestClient,
    faults: FaultInjector,
    breakers: BreakerInspector,
    clock: Clock,
) -> None:
    per_script = 1 + int(openai_max_retries)
    faults.fail("openai", 503)
    for attempt in range(5):
        assert breakers.state("openai") == "CLOSED", attempt
        assert _script(hardened_client).startswith(TEMPLATE)
        assert len(faults.calls("openai")) == per_script * (attempt + 1)  # the SDK's retries
    assert breakers.state("openai") == "OPEN"
    assert _openai_breaker(hardened_client)["failures"] == 5

    assert _script(hardened_client).startswith(TEMPLATE)  # open: OpenAI is not even called
    assert len(faults.calls("openai")) == per_script * 5


@pytest.mark.parametrize("openai_max_retries", ["2"])
def test_the_sdks_retry_back_off_runs_in_virtual_time(
    hardened_client: TestClient, faults: FaultInjector, clock: Clock, apm: ApmView
) -> None:
    faults.rate_limit("openai", retry_after=2)

    assert _script(hardened_client).startswith(TEMPLATE)

    assert faults.retry_sleeps == [2.0, 2.0]  # Retry-After honoured, twice, not slept
    assert clock.advanced >= 4.0
    assert [c.outcome for c in faults.calls("openai")] == ["rate_limit 429"] * 3
    external = apm.external("openai")  # one logical call, 4 s of virtual waiting
    assert (external.count, external.errors) == (1, 1)


@pytest.mark.parametrize(
    "headers",
    [
        {"retry-after": "2.5"},
        {"retry-after-ms": "20000"},
        {"retry-after": "Fri, 31 Dec 2100 23:59:59 GMT"},
    ],
)
def test_a_wait_longer_than_a_script_has_is_not_retried(
    headers: dict[str, str], hardened_client: TestClient, faults: FaultInjector, clock: Clock
) -> None:
    faults.sequence("openai", [httpx.Response(429, headers=headers)] * 2)

    assert _script(hardened_client).startswith(TEMPLATE)

    assert len(faults.calls("openai")) == 1  # the SDK was told not to retry
    assert faults.retry_sleeps == []
    assert _openai_breaker(hardened_client)["failures"] == 1  # counted, not cut off by the cap


STREAM_FAULTS: dict[str, Callable[[FaultInjector], None]] = {
    "stream_cut": lambda f: f.stream_cut("openai", after=3),
    "stream_stall": lambda f: f.stream_stall("openai", after=3),
    "stream_malformed": lambda f: f.stream_malformed("openai", after=3),
}


@pytest.mark.parametrize("fault", list(STREAM_FAULTS))
def test_a_broken_stream_falls_back_to_the_template_script(
    fault: str, hardened_client: TestClient, faults: FaultInjector, clock: Clock
) -> None:
    STREAM_FAULTS[fault](faults)

    script = _script(hardened_client)

    assert script.startswith(TEMPLATE)  # never the half-streamed "Namaste! I am"
    assert MODEL_SCRIPT not in script
    [call] = faults.calls("openai")  # an answer that has started is never retried
    assert call.outcome.startswith(f"{fault} 200 (3/")
    assert _openai_breaker(hardened_client)["failures"] == 1


def test_a_stalled_stream_waits_one_read_timeout_in_virtual_time(
    hardened_client: TestClient, faults: FaultInjector, clock: Clock
) -> None:
    faults.stream_stall("openai", after=2)

    assert _script(hardened_client).startswith(TEMPLATE)

    assert clock.advanced == 3.0  # the client's read timeout, between two events


def test_an_answer_cut_short_by_the_model_uses_the_template_without_tripping(
    hardened_client: TestClient, faults: FaultInjector
) -> None:
    chunk = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m"}
    events = [
        (None, {**chunk, "choices": [{"index": 0, "delta": {"content": "Namaste! I"}}]}),
        (None, {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}]}),
        (None, "[DONE]"),
    ]
    stream = httpx.Response(200, content=sse(events), headers={"content-type": "text/event-stream"})
    faults.sequence("openai", [stream])

    assert _script(hardened_client).startswith(TEMPLATE)

    assert _openai_breaker(hardened_client)["failures"] == 0  # OpenAI is up: not an outage


@pytest.mark.parametrize("openai_max_retries", ["x", "-1", "11", "1.5"])
def test_openai_max_retries_must_be_a_small_whole_number(openai_max_retries: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings({"OPENAI_MAX_RETRIES": openai_max_retries})
    assert error.value.variables == ["OPENAI_MAX_RETRIES"]


def test_openai_max_retries_defaults_to_one() -> None:
    assert load_settings({}).openai_max_retries == 1
    assert load_settings({"OPENAI_MAX_RETRIES": "0"}).openai_max_retries == 0


def test_without_an_api_key_openai_is_never_called(
    build: Callable[[dict[str, str]], FastAPI], dev_env: dict[str, str], faults: FaultInjector
) -> None:
    env = {k: v for k, v in dev_env.items() if k != "OPENAI_API_KEY"}
    with TestClient(build(env), headers=MERCHANT_HEADERS) as client:
        assert _script(client).startswith(TEMPLATE)
    assert faults.calls("openai") == []


@pytest.fixture
def unstarted() -> FaultInjector:
    """Fakes served only through ``create_app(http_transport=...)``: nothing is patched."""
    return FaultInjector(fakes.providers(), block_network=False)


def test_the_injected_http_transport_carries_the_sdks_requests_too(
    unstarted: FaultInjector, dev_env: dict[str, str]
) -> None:
    app = create_app(load_settings(dev_env), http_transport=httpx.MockTransport(unstarted.respond))
    with TestClient(app, headers=MERCHANT_HEADERS) as client:
        assert _script(client).startswith(MODEL_SCRIPT)
        services = app.state.services
    assert [c.outcome for c in unstarted.calls("openai")] == ["ok 200"]
    assert services.openai_http.is_closed  # the lifespan closed the app's httpx2 client


def test_the_sdk_gets_the_transports_timeouts_as_httpx2_errors(
    unstarted: FaultInjector, dev_env: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="reference_app.calls")
    unstarted.sequence("openai", ["timeout"])
    env = dev_env | {"OPENAI_MAX_RETRIES": "0"}  # no clock here: no back-off to sleep through
    app = create_app(load_settings(env), http_transport=httpx.MockTransport(unstarted.respond))
    with TestClient(app, headers=MERCHANT_HEADERS) as client:
        assert _script(client).startswith(TEMPLATE)
        metrics = _openai_breaker(client)
    assert metrics["failures"] == 1
    assert [c.outcome for c in unstarted.calls("openai")] == ["sequence ReadTimeout"]
    # The SDK saw a timeout (not a mere connection error) through the bridge.
    assert "script from template: openai chat_completion timed out" in caplog.text


@pytest.mark.anyio
async def test_the_bridge_raises_httpx2s_own_errors_before_and_during_the_body() -> None:
    faults = FaultInjector(fakes.providers(), block_network=False)  # not started: no patching
    bridge = HttpxTransportBridge(httpx.MockTransport(faults.respond))
    url = "https://api.openai.com/v1/chat/completions"
    body = {"model": "m", "messages": [], "stream": True}
    headers = {"Authorization": "Bearer k"}
    async with httpx2.AsyncClient(transport=bridge) as client:
        faults.timeout("openai", times=1)
        with pytest.raises(httpx2.ReadTimeout):
            await client.post(url, json=body, headers=headers)

        faults.stream_cut("openai", after=2)
        async with client.stream("POST", url, json=body, headers=headers) as response:
            assert response.status_code == 200
            with pytest.raises(httpx2.RemoteProtocolError):
                await response.aread()
    assert faults.calls("openai")[-1].outcome.startswith("stream_cut 200 (2/")


def test_the_openai_fake_is_parsed_by_the_sdk_plain_and_streamed() -> None:
    with FaultInjector(fakes.providers()):
        gpt = openai.OpenAI(api_key="sk-test", max_retries=0)
        messages: list[Any] = [{"role": "user", "content": "Order #5521"}]
        plain = gpt.chat.completions.create(model="gpt-4o-mini", messages=messages)
        chunks = list(
            gpt.chat.completions.create(
                model="gpt-4o-mini",
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
            )
        )
    text = plain.choices[0].message.content
    assert text is not None
    assert text.startswith(MODEL_SCRIPT)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    usage = chunks[-1].usage  # asked for: a last chunk without choices, as the API sends it
    assert usage is not None
    assert plain.usage is not None
    assert usage.total_tokens == plain.usage.total_tokens
