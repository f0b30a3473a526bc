"""Testing apps that use the OpenAI or Anthropic SDK (docs/ai-sdks.md).

The SDKs send through httpx2; the `faults` fixture (and `FaultInjector`) answers httpx2 requests
exactly like httpx ones, so the same providers, faults and call log apply.
"""

from __future__ import annotations

import contextlib
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import httpx2
import openai
import pytest
from fastapi import FastAPI
from starlette.testclient import TestClient

from pytest_hardening import Clock, FaultInjector
from pytest_hardening.fakes import anthropic_provider, openai_provider


# -- a small app that summarises text with the OpenAI SDK --------------------------------------
def make_app() -> FastAPI:
    app = FastAPI()
    llm = openai.AsyncOpenAI(api_key="sk-test", max_retries=2, timeout=20)

    @app.post("/summary")
    async def summary(text: str) -> dict[str, str]:
        try:
            completion = await llm.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": f"Summarise: {text}"}]
            )
        except openai.APIError:
            return {"summary": text[:40], "source": "fallback"}
        return {"summary": completion.choices[0].message.content or "", "source": "openai"}

    return app


@pytest.fixture
def hardening_providers() -> Mapping[str, Any]:
    return {"openai": openai_provider("A short summary.")}


@pytest.fixture
def client() -> Iterator[TestClient]:
    with TestClient(make_app()) as test_client:
        yield test_client


def test_the_sdk_gets_the_healthy_fake(client: TestClient, faults: FaultInjector) -> None:
    response = client.post("/summary", params={"text": "A long meeting transcript"})
    assert response.json() == {"summary": "A short summary.", "source": "openai"}
    assert [c.outcome for c in faults.calls("openai")] == ["ok 200"]


def test_rate_limited_sdk_retries_in_virtual_time(
    client: TestClient, faults: FaultInjector, clock: Clock
) -> None:
    faults.rate_limit("openai", retry_after=20)
    response = client.post("/summary", params={"text": "A long meeting transcript"})
    assert response.json()["source"] == "fallback"
    assert len(faults.calls("openai")) == 3  # the first try and the SDK's 2 retries
    assert faults.retry_sleeps == [20.0, 20.0]  # honoured Retry-After, on the clock
    assert clock.advanced == 40.0  # and nobody waited 40 real seconds


# -- the SDKs' own errors, without pytest fixtures ----------------------------------------------
def test_faults_become_the_sdks_typed_errors() -> None:
    providers = {"openai": openai_provider(), "anthropic": anthropic_provider()}
    with Clock() as clock, FaultInjector(providers, clock=clock) as faults:
        import anthropic  # an SDK imported late, even under the clock, is reached as well

        claude = anthropic.Anthropic(api_key="test", max_retries=2)
        faults.fail("anthropic", 503)
        with pytest.raises(anthropic.InternalServerError):
            claude.messages.create(
                model="claude-sonnet-4-5",
                max_tokens=256,
                messages=[{"role": "user", "content": "Hello"}],
            )
        assert [c.outcome for c in faults.calls("anthropic")] == ["fail 503"] * 3

        gpt = openai.OpenAI(api_key="sk-test", max_retries=0, timeout=15)
        faults.timeout("openai")
        with pytest.raises(openai.APITimeoutError):
            gpt.responses.create(model="gpt-4o-mini", input="Hello")
        assert clock.advanced >= 15  # the SDK's timeout, in virtual time


def test_openai_prefers_retry_after_ms() -> None:
    with Clock() as clock, FaultInjector({"openai": openai_provider()}, clock=clock) as faults:
        faults.rate_limit("openai", retry_after=20, retry_after_ms=1500)
        gpt = openai.OpenAI(api_key="sk-test", max_retries=1)
        with pytest.raises(openai.RateLimitError):
            gpt.responses.create(model="gpt-4o-mini", input="Hello")
        assert faults.retry_sleeps == [1.5]


def test_errors_carry_the_apis_type_and_code() -> None:
    with FaultInjector({"openai": openai_provider()}) as faults:
        gpt = openai.OpenAI(api_key="sk-test", max_retries=0)
        faults.rate_limit("openai", times=1)
        with pytest.raises(openai.RateLimitError) as limited:
            gpt.responses.create(model="gpt-4o-mini", input="Hello")
        assert (limited.value.type, limited.value.code) == ("requests", "rate_limit_exceeded")

        quota = {
            "message": "You exceeded your current quota.",
            "type": "insufficient_quota",
            "param": None,
            "code": "insufficient_quota",
        }  # a body of the test's own: an httpx.Response in a sequence
        faults.sequence("openai", [httpx.Response(429, json={"error": quota})])
        with pytest.raises(openai.RateLimitError) as exhausted:
            gpt.responses.create(model="gpt-4o-mini", input="Hello")
        assert exhausted.value.code == "insufficient_quota"


def test_garbage_is_a_value_error_not_an_api_error() -> None:
    with FaultInjector({"openai": openai_provider()}) as faults:
        faults.garbage("openai")
        gpt = openai.OpenAI(api_key="sk-test")
        with pytest.raises(ValueError, match="Expecting value"):
            gpt.responses.create(model="gpt-4o-mini", input="Hello")


# -- streaming ----------------------------------------------------------------------------------
def test_a_stream_cut_mid_answer() -> None:
    with FaultInjector({"openai": openai_provider("one two three")}) as faults:
        faults.stream_cut("openai", after=2)  # the role chunk and "one", then the peer hangs up
        gpt = openai.OpenAI(api_key="sk-test")
        stream = gpt.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Count"}], stream=True
        )
        received: list[str] = []
        with pytest.raises(openai.APIConnectionError):
            received.extend(chunk.choices[0].delta.content or "" for chunk in stream)
        assert "".join(received) == "one"
        [call] = faults.calls("openai")
        assert call.outcome == "stream_cut 200 (2/6 events delivered)"


def test_a_stream_that_stalls_past_the_timeout() -> None:
    with Clock() as clock, FaultInjector({"anthropic": anthropic_provider()}, clock=clock) as f:
        import anthropic

        f.stream_stall("anthropic", after=3)  # silent after 3 events, longer than the timeout
        claude = anthropic.Anthropic(api_key="test", max_retries=0, timeout=30)
        # Mid-stream, anthropic 2.17 and later raise APITimeoutError; earlier 2.x let httpx2's
        # own ReadTimeout through. Catch both, as an app that supports either must.
        with (
            pytest.raises((anthropic.APITimeoutError, httpx2.ReadTimeout)) as raised,
            claude.messages.stream(
                model="claude-sonnet-4-5",
                max_tokens=256,
                messages=[{"role": "user", "content": "Hello"}],
            ) as stream,
        ):
            stream.get_final_text()
        read_timeout = raised.value.__cause__ or raised.value
        assert isinstance(read_timeout, httpx2.ReadTimeout)
        assert clock.advanced == 30  # the read timeout, in virtual time


# -- no way out ---------------------------------------------------------------------------------
def test_a_swallowed_call_to_the_network_still_fails() -> None:
    with FaultInjector({"openai": openai_provider()}) as faults:
        with contextlib.suppress(OSError):  # the app swallows the error...
            urllib.request.urlopen("https://metrics.example.org/push", timeout=5)
        report = faults.problems_report()  # ...but the `faults` fixture fails the test
    assert report is not None
    assert "metrics.example.org:443" in report
