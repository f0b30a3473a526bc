"""The official OpenAI (3.x) and Anthropic (2.x) SDKs, which ride on httpx2, under faults: the
SDK's own typed errors after its own retries, retry back-off in virtual time, a call logged per
attempt, and healthy fakes the SDKs parse."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import anyio
import httpx
import openai
import pytest

from pytest_hardening import Clock, FaultInjector, Provider
from pytest_hardening.fakes import anthropic_provider, openai_provider

from ._sleeps import this_thread_only, this_thread_only_async

if TYPE_CHECKING:
    import anthropic

USER = [{"role": "user", "content": "Say hello"}]


@pytest.fixture
def setup(clock: Clock) -> Iterator[tuple[Clock, FaultInjector]]:
    # The plugin's clock: it reuses what the session's earlier clocks learned about the heap.
    providers = {"openai": openai_provider("Hello there"), "anthropic": anthropic_provider("Hi")}
    with FaultInjector(providers, clock=clock) as faults:
        yield clock, faults


@pytest.fixture
def no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any real back-off sleep (sync or async) in the test's thread fails the test: retries
    must use the clock."""

    def forbidden(seconds: float) -> None:
        raise AssertionError(f"real sleep of {seconds}s")

    real_anyio_sleep = anyio.sleep

    async def forbidden_async(seconds: float) -> None:
        if seconds > 0:
            raise AssertionError(f"real anyio.sleep of {seconds}s")
        await real_anyio_sleep(0)

    monkeypatch.setattr(time, "sleep", this_thread_only(forbidden, time.sleep))
    monkeypatch.setattr(anyio, "sleep", this_thread_only_async(forbidden_async, anyio.sleep))


def _openai(max_retries: int = 2, **kwargs: Any) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", max_retries=max_retries, **kwargs)


def _chat(client: openai.OpenAI) -> Any:
    return client.chat.completions.create(model="gpt-4o-mini", messages=USER)  # type: ignore[arg-type]


def _claude(client: anthropic.Anthropic) -> Any:
    return client.messages.create(model="claude-sonnet-4-5", max_tokens=64, messages=USER)  # type: ignore[arg-type]


# -- healthy fakes ---------------------------------------------------------------------------
def test_fakes_are_parsed_by_both_sdks(setup: tuple[Clock, FaultInjector]) -> None:
    import anthropic

    _, faults = setup
    client = _openai()
    completion = _chat(client)
    assert isinstance(completion, openai.types.chat.ChatCompletion)
    assert completion.choices[0].message.content == "Hello there"
    assert completion.usage is not None
    response = client.responses.create(model="gpt-4o-mini", input="Say hello")
    assert response.output_text == "Hello there"
    message = _claude(anthropic.Anthropic(api_key="k"))
    assert isinstance(message, anthropic.types.Message)
    assert [block.text for block in message.content if block.type == "text"] == ["Hi"]
    assert [c.outcome for c in faults.calls("openai")] == ["ok 200", "ok 200"]


def test_the_openai_fake_embeds_each_input_the_same_way_every_time(
    setup: tuple[Clock, FaultInjector],
) -> None:
    # A retrieval app calls /v1/embeddings before its chat completion: it got a 404.
    from pytest_hardening.fakes import embedding

    client = _openai()
    first = client.embeddings.create(model="text-embedding-3-small", input=["rules", "dice"])
    assert [len(item.embedding) for item in first.data] == [1536, 1536]  # base64, decoded
    again = client.embeddings.create(
        model="m", input="rules", dimensions=8, encoding_format="float"
    )
    assert again.data[0].embedding == embedding("rules", 8)
    assert first.data[0].embedding[:3] == pytest.approx(embedding("rules")[:3], rel=1e-6)
    assert first.data[0].embedding != first.data[1].embedding
    assert sum(v * v for v in again.data[0].embedding) == pytest.approx(1.0)


def test_fakes_stream_as_the_apis_do(setup: tuple[Clock, FaultInjector]) -> None:
    import anthropic

    client = _openai()
    stream = client.chat.completions.create(model="m", messages=USER, stream=True)  # type: ignore[arg-type]
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream) == "Hello there"
    events = list(client.responses.create(model="m", input="x", stream=True))
    assert events[0].type == "response.created"
    assert events[-1].type == "response.completed"
    deltas = [e.delta for e in events if e.type == "response.output_text.delta"]
    assert "".join(deltas) == "Hello there"
    # The SDK's helper builds a snapshot from the item and part events: it failed with an
    # IndexError on deltas alone (a trial's app streamed nothing).
    with client.responses.stream(model="m", input="x") as helper:
        helped = [e.delta for e in helper if e.type == "response.output_text.delta"]
        assert helper.get_final_response().output_text == "Hello there"
    assert "".join(helped) == "Hello there"
    claude = anthropic.Anthropic(api_key="k")
    with claude.messages.stream(model="m", max_tokens=64, messages=USER) as message_stream:  # type: ignore[arg-type]
        assert message_stream.get_final_text() == "Hi"


def test_handler_written_for_httpx_serves_the_async_sdk() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["Authorization"] == "Bearer sk-test"
        return openai_provider("from httpx").healthy(request)  # type: ignore[misc,operator]

    async def main() -> str | None:
        client = openai.AsyncOpenAI(api_key="sk-test")
        completion = await client.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
        return completion.choices[0].message.content

    with FaultInjector({"openai": Provider("https://api.openai.com/v1", handler)}) as faults:
        assert asyncio.run(main()) == "from httpx"
        assert faults.problems_report() is None


def test_the_sdks_aiohttp_clients_are_served_and_faulted_like_httpx2() -> None:
    import anthropic

    # DefaultAioHttpClient: both SDKs' own aiohttp transport for httpx2 (the aiohttp extra).
    async def main() -> tuple[str | None, str, int, int]:
        chat = openai.AsyncOpenAI(
            api_key="sk-test", http_client=openai.DefaultAioHttpClient(), max_retries=0
        )
        claude = anthropic.AsyncAnthropic(
            api_key="k", http_client=anthropic.DefaultAioHttpClient(), max_retries=0
        )
        async with chat, claude:
            completion = await chat.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
            message = await claude.messages.create(model="m", max_tokens=64, messages=USER)  # type: ignore[arg-type]
            faults.fail("openai", 503)
            faults.fail("anthropic", 529)
            with pytest.raises(openai.InternalServerError) as chat_error:
                await chat.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
            with pytest.raises(anthropic.APIStatusError) as claude_error:
                await claude.messages.create(model="m", max_tokens=64, messages=USER)  # type: ignore[arg-type]
        text = "".join(block.text for block in message.content if block.type == "text")
        return (
            completion.choices[0].message.content,
            text,
            chat_error.value.status_code,
            claude_error.value.status_code,
        )

    providers = {"openai": openai_provider("Hello there"), "anthropic": anthropic_provider("Hi")}
    with FaultInjector(providers) as faults:
        assert asyncio.run(main()) == ("Hello there", "Hi", 503, 529)
        assert faults.problems_report() is None  # nothing went around the faults
        assert [c.outcome for c in faults.calls("openai")] == ["ok 200", "fail 503"]


# -- faults after the SDK's own retries ------------------------------------------------------
#: The Anthropic SDK's error by name: the SDK is imported by the test that uses it.
FAULTS: list[tuple[str, dict[str, Any], type[Exception], str, str]] = [
    (
        "fail",
        {"status": 503},
        openai.InternalServerError,
        "InternalServerError",
        "fail 503",
    ),
    ("timeout", {}, openai.APITimeoutError, "APITimeoutError", "timeout ReadTimeout"),
    ("refuse", {}, openai.APIConnectionError, "APIConnectionError", "refuse ConnectError"),
]


@pytest.mark.parametrize(("kind", "args", "openai_error", "anthropic_error", "outcome"), FAULTS)
@pytest.mark.usefixtures("no_real_sleep")
def test_faults_surface_as_typed_sdk_errors_after_retries(
    setup: tuple[Clock, FaultInjector],
    kind: str,
    args: dict[str, Any],
    openai_error: type[Exception],
    anthropic_error: str,
    outcome: str,
) -> None:
    import anthropic

    _, faults = setup
    for provider, call, error in [
        ("openai", lambda: _chat(_openai(max_retries=2)), openai_error),
        (
            "anthropic",
            lambda: _claude(anthropic.Anthropic(api_key="k", max_retries=2)),
            getattr(anthropic, anthropic_error),
        ),
    ]:
        getattr(faults, kind)(provider, **args)
        with pytest.raises(error):
            call()
        assert [c.outcome for c in faults.calls(provider)] == [outcome] * 3  # 1 + 2 retries


@pytest.mark.usefixtures("no_real_sleep")
def test_rate_limit_retry_after_runs_in_virtual_time(setup: tuple[Clock, FaultInjector]) -> None:
    clock, faults = setup
    faults.rate_limit("openai", retry_after=20)
    with pytest.raises(openai.RateLimitError) as info:
        _chat(_openai(max_retries=2))
    assert info.value.response.headers["retry-after"] == "20"
    assert faults.retry_sleeps == [20.0, 20.0]
    assert clock.advanced == 40.0
    assert len(faults.calls("openai")) == 3


@pytest.mark.usefixtures("no_real_sleep")
def test_retry_after_ms_is_preferred_by_both_sdks(setup: tuple[Clock, FaultInjector]) -> None:
    import anthropic

    clock, faults = setup
    faults.rate_limit("openai", retry_after=20, retry_after_ms=1500)
    faults.rate_limit("anthropic", retry_after=20, retry_after_ms=250)
    with pytest.raises(openai.RateLimitError):
        _chat(_openai(max_retries=1))
    with pytest.raises(anthropic.RateLimitError):
        _claude(anthropic.Anthropic(api_key="k", max_retries=1))
    assert faults.retry_sleeps == [1.5, 0.25]
    assert clock.advanced == 1.75


@pytest.mark.usefixtures("no_real_sleep")
def test_async_sdk_retries_in_virtual_time_and_recovers(setup: tuple[Clock, FaultInjector]) -> None:
    import anthropic

    clock, faults = setup
    faults.rate_limit("anthropic", retry_after=20, times=2)

    async def main() -> Any:
        client = anthropic.AsyncAnthropic(api_key="k", max_retries=2)
        return await client.messages.create(model="m", max_tokens=64, messages=USER)  # type: ignore[arg-type]

    message = asyncio.run(main())
    assert message.content[0].text == "Hi"
    assert [c.outcome for c in faults.calls("anthropic")] == ["rate_limit 429"] * 2 + ["ok 200"]
    assert clock.advanced == 40.0


def test_timeout_moves_the_clock_by_the_sdk_timeout(setup: tuple[Clock, FaultInjector]) -> None:
    clock, faults = setup
    faults.timeout("openai")
    with pytest.raises(openai.APITimeoutError):
        _chat(_openai(max_retries=0, timeout=12.5))
    assert clock.advanced == 12.5


def test_garbage_is_not_an_api_error(setup: tuple[Clock, FaultInjector]) -> None:
    """Both SDKs let the JSON decoder's ValueError through for a garbled 200: an app that only
    catches the SDK's APIError misses it. This pins that behaviour for the docs."""
    import anthropic

    _, faults = setup
    faults.garbage("openai")
    faults.garbage("anthropic")
    with pytest.raises(ValueError, match="Expecting value") as info:
        _chat(_openai())
    assert not isinstance(info.value, openai.APIError)
    with pytest.raises(ValueError, match="Expecting value"):
        _claude(anthropic.Anthropic(api_key="k"))
    assert len(faults.calls("openai")) == 1  # a 200 is never retried


def test_sdk_retry_sleep_is_real_without_a_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", this_thread_only(slept.append, time.sleep))
    with FaultInjector({"openai": openai_provider()}) as faults:
        faults.rate_limit("openai", retry_after=3)
        with pytest.raises(openai.RateLimitError):
            _chat(_openai(max_retries=1))
        assert faults.retry_sleeps == []
        assert len(faults.real_sleeps) == 1  # how long it took (the test's time.sleep: none)
    assert slept == [3.0]


def test_stop_restores_the_sdk_sleep() -> None:
    before = openai._base_client.SyncAPIClient._sleep_for_retry
    with FaultInjector({}):
        assert openai._base_client.SyncAPIClient._sleep_for_retry is not before
    assert openai._base_client.SyncAPIClient._sleep_for_retry is before


# -- streaming faults ------------------------------------------------------------------------
def _stream_text(client: openai.OpenAI) -> tuple[str, BaseException | None]:
    received: list[str] = []
    try:
        stream = client.chat.completions.create(model="m", messages=USER, stream=True)  # type: ignore[arg-type]
        received.extend(chunk.choices[0].delta.content or "" for chunk in stream)
    except Exception as error:
        return "".join(received), error
    return "".join(received), None


# The fake's chat stream has 5 events: role, "Hello", " there", finish, [DONE].
STREAM_FAULTS: list[tuple[Callable[[FaultInjector], None], type[BaseException], str, str]] = [
    (lambda f: f.stream_cut("openai", after=2), openai.APIConnectionError, "Hello", "cut 200 (2/5"),
    (lambda f: f.stream_stall("openai", after=3), openai.APITimeoutError, "Hello there", "stall"),
    (lambda f: f.stream_malformed("openai", after=2), ValueError, "Hello", "malformed 200 (2/5"),
]


@pytest.mark.parametrize(("inject", "error", "partial", "outcome"), STREAM_FAULTS)
def test_stream_faults_reach_the_sdk_mid_stream(
    setup: tuple[Clock, FaultInjector],
    inject: Callable[[FaultInjector], None],
    error: type[BaseException],
    partial: str,
    outcome: str,
) -> None:
    clock, faults = setup
    inject(faults)
    text, raised = _stream_text(_openai(timeout=30))
    assert isinstance(raised, error)
    assert text == partial  # the app saw the start of the answer
    [call] = faults.calls("openai")  # streams are never retried mid-way
    assert call.outcome.startswith(f"stream_{outcome}")
    if outcome == "stall":
        assert call.outcome == "stream_stall 200 (3/5 events delivered)"
        assert clock.advanced == 30.0  # the client's read timeout, in virtual time


def test_stream_stall_shorter_than_the_timeout_only_delays(
    setup: tuple[Clock, FaultInjector],
) -> None:
    import anthropic

    clock, faults = setup
    faults.stream_stall("anthropic", after=2, seconds=8)
    claude = anthropic.Anthropic(api_key="k", timeout=30)
    with claude.messages.stream(model="m", max_tokens=64, messages=USER) as message_stream:  # type: ignore[arg-type]
        assert message_stream.get_final_text() == "Hi"
    assert clock.advanced == 8.0
    assert faults.calls("anthropic")[0].outcome == "stream_stall 200 (6/6 events delivered)"


@pytest.mark.anyio
async def test_a_short_stall_is_met_once_though_the_async_sdk_reads_the_body_again(
    setup: tuple[Clock, FaultInjector],
) -> None:
    # AsyncOpenAI drains the response after the last event, iterating the body a second time:
    # the stream goes on from where it stopped, as a socket's would, and never stalls again.
    clock, faults = setup
    faults.stream_stall("openai", after=2, seconds=5)
    gpt = openai.AsyncOpenAI(api_key="sk-test", max_retries=0)
    stream = await gpt.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)  # type: ignore[arg-type]
    text = "".join([chunk.choices[0].delta.content or "" async for chunk in stream])
    assert text == "Hello there"
    assert clock.advanced == 5.0
    [call] = faults.calls("openai")
    assert call.outcome == "stream_stall 200 (5/5 events delivered)"
