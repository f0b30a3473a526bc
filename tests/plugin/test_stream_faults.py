"""Stream faults act on streamed answers only: a plain JSON answer on the way (an embeddings
call, a non-streamed turn) passes untouched, is logged as the healthy call it was, and does not
use the fault up. A provider can be split by path prefix to fault one endpoint alone."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import openai
import pytest

from pytest_hardening import Clock, FaultInjector, Provider
from pytest_hardening.fakes import openai_provider

USER = [{"role": "user", "content": "Count"}]


@pytest.fixture
def injector(clock: Clock) -> Iterator[FaultInjector]:
    with FaultInjector({"openai": openai_provider("one two three")}, clock=clock) as injector:
        yield injector


def _streamed(gpt: openai.OpenAI) -> tuple[str, BaseException | None]:
    received: list[str] = []
    try:
        stream = gpt.chat.completions.create(model="m", messages=USER, stream=True)  # type: ignore[arg-type]
        received.extend(chunk.choices[0].delta.content or "" for chunk in stream)
    except openai.APIError as error:
        return "".join(received), error
    return "".join(received), None


def test_a_stream_fault_waits_past_plain_json_for_the_streamed_answer(
    injector: FaultInjector,
) -> None:
    gpt = openai.OpenAI(api_key="sk-test", max_retries=2)
    injector.stream_cut("openai", after=2, times=1)
    plan = gpt.responses.create(model="gpt-4o-mini", input="plan")  # plain JSON, first
    assert plan.output_text == "one two three"
    text, error = _streamed(gpt)
    assert isinstance(error, openai.APIConnectionError)
    assert text == "one"  # the role chunk and "one", then the cut
    assert _streamed(gpt) == ("one two three", None)  # times=1: used up by the stream only
    assert [(c.request.url.path, c.outcome) for c in injector.calls("openai")] == [
        ("/v1/responses", "ok 200"),
        ("/v1/chat/completions", "stream_cut 200 (2/6 events delivered)"),
        ("/v1/chat/completions", "ok 200"),
    ]
    assert injector.problems_report() is None


def test_error_answers_pass_a_stream_fault_untouched(injector: FaultInjector) -> None:
    injector.stream_malformed("openai", after=1)
    with httpx.Client() as http:
        missing = http.get("https://api.openai.com/v1/models")  # the fake's 404, in JSON
    assert missing.json()["error"]["type"] == "not_found"
    assert [c.outcome for c in injector.calls("openai")] == ["ok 404"]


def test_a_stream_fault_that_met_only_plain_json_is_reported_unused(
    injector: FaultInjector,
) -> None:
    gpt = openai.OpenAI(api_key="sk-test", max_retries=0)
    injector.stream_stall("openai", after=1, times=1)
    gpt.responses.create(model="gpt-4o-mini", input="plan")
    gpt.chat.completions.create(model="m", messages=USER)  # type: ignore[arg-type]
    report = injector.problems_report()
    assert report is not None
    assert "stream_stall on provider 'openai' (times=1, after=1): never triggered" in report
    # The provider was reached: the report says why the fault was not, not where to look.
    assert "answered 2 call(s) of the test, none streamed" in report
    assert "does the app ask for one (stream=True)?" in report
    assert "check the provider's URL" not in report


def test_a_provider_split_by_path_prefix_faults_that_endpoint_alone(clock: Clock) -> None:
    def embeddings(request: httpx.Request) -> httpx.Response:
        vector = {"object": "embedding", "index": 0, "embedding": [0.1, 0.2]}
        usage = {"prompt_tokens": 1, "total_tokens": 1}
        body = {"object": "list", "data": [vector], "model": "e", "usage": usage}
        return httpx.Response(200, json=body)

    providers = {
        "openai": openai_provider("one two three"),
        "embeddings": Provider("https://api.openai.com/v1/embeddings", embeddings),
    }
    with FaultInjector(providers, clock=clock) as faults:
        gpt = openai.OpenAI(api_key="sk-test", max_retries=0)
        assert gpt.embeddings.create(model="e", input="hi").data[0].embedding == [0.1, 0.2]
        faults.fail("embeddings", 503)
        with pytest.raises(openai.InternalServerError):
            gpt.embeddings.create(model="e", input="hi")
        assert _streamed(gpt) == ("one two three", None)  # the rest of the host is healthy
        assert [c.outcome for c in faults.calls("embeddings")] == ["ok 200", "fail 503"]
        assert [c.outcome for c in faults.calls("openai")] == ["ok 200"]


@pytest.mark.anyio
async def test_a_stall_in_async_code_without_a_clock_names_the_stall() -> None:
    events = b"".join(f"data: {i}\n\n".encode() for i in range(4))
    healthy = httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content=events)
    with FaultInjector({"sse": Provider("https://sse.example", healthy)}) as faults:
        faults.stream_stall("sse", after=2, seconds=1)
        async with httpx.AsyncClient() as http:
            with pytest.raises(RuntimeError) as raised:
                await http.get("https://sse.example/events")
        report = faults.problems_report()
    said = "faults.stream_stall(after=2, seconds=1) met a call made in an event loop"
    assert str(raised.value).startswith(said)
    assert "latency" not in str(raised.value)
    assert report is not None
    assert said in report
    assert "add the `clock` fixture to the test (virtual time) for stream_stall faults" in report
    assert "even from a sync test" in report  # an async app under a sync test: the same


def test_events_delivered_are_counted_as_they_go_when_the_reader_never_closes(
    injector: FaultInjector,
) -> None:
    # The SDK raised at the malformed event and dropped the response unclosed: the call log
    # said "0/6 events delivered" where two were (a trial's, openai 1.55).
    injector.stream_malformed("openai", after=2, times=1)
    asked = {"model": "m", "messages": USER, "stream": True}
    url = "https://api.openai.com/v1/chat/completions"
    with httpx.Client() as http, http.stream("POST", url, json=asked) as sent:
        chunks = sent.iter_bytes()
        next(chunks), next(chunks)  # the role chunk and "one", then the reader stops
        [call] = injector.calls("openai")
        assert call.outcome == "stream_malformed 200 (2/6 events delivered)"
