"""An answer the app cuts part-way (a stream whose provider failed after the first chunk) is
recorded as what a client got: its status, marked cut. Two trials' chaos runs lost such a
request from the run's record (the served list, "requests by status", the JSON report), and the
step failed with "step raised RemoteProtocolError" instead of a broken expectation."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from pytest_hardening import Provider
from pytest_hardening.chaos import (
    ChaosContext,
    DataLossCheck,
    HarnessSession,
    Heal,
    Inject,
    Scenario,
    run_scenario,
    send,
)

LLM = Provider("https://llm.example", lambda request: httpx.Response(200, text="words"))


def create_app() -> Starlette:
    client = httpx.AsyncClient(base_url="https://llm.example")

    async def chat(request: Request) -> StreamingResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"thinking...\n"
            answer = await client.get("/complete")
            answer.raise_for_status()  # the provider's failure, after the answer began
            yield answer.content

        return StreamingResponse(body(), media_type="text/plain")

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    return Starlette(routes=[Route("/chat", chat), Route("/health", health)])


def session() -> HarnessSession:
    return HarnessSession(app_factory=create_app, env={}, providers={"llm": LLM})


def cut_answers(ctx: ChaosContext) -> DataLossCheck:
    cut = [s for s in ctx.served if s.cut]
    lost = tuple(f"{s.method} {s.path} ({s.response.status_code}): {s.cut}" for s in cut)
    return DataLossCheck("every chat answered whole", len(ctx.served), lost)


def scenario(*, expect: int | None) -> Scenario:
    return Scenario(
        name="llm-outage-mid-stream",
        description="the provider fails after the chat began answering",
        steady_state=(send("GET", "/health", expect=200),),
        method=(Inject("llm", "fail", (503,)), send("GET", "/chat", expect=expect)),
        rollback=(Heal(),),
        data_check=cut_answers,
    )


def test_a_cut_answer_is_recorded_with_its_status_and_fails_an_expectation() -> None:
    result = run_scenario(scenario(expect=200), session(), seed=1)
    assert not result.passed
    failure = next(f for f in result.failures if "GET /chat" in f)
    assert "expected status [200], got 200, its body cut part-way (the app failed after " in (
        failure
    )
    assert "step raised" not in " ".join(result.failures)
    assert result.timeline.requests_by_status() == {200: 3}  # health, chat, health
    assert [r.cut for r in result.timeline.requests] == [False, True, False]
    assert "requests served by status: 200×3 (1 cut part-way)" in result.explain()
    requests = result.to_dict()["requests"]
    assert [r.get("cut", False) for r in requests] == [False, True, False]


def test_without_an_expectation_the_cut_answer_reaches_the_data_check() -> None:
    result = run_scenario(scenario(expect=None), session(), seed=1)
    assert result.data_loss is not None
    assert result.data_loss.checked == 3
    assert len(result.data_loss.lost) == 1
    assert result.data_loss.lost[0].startswith("GET /chat (200): the app failed after answering")
