"""The async hardened client on asyncio hands a streamed answer over as the app sends it:
headers first, then each chunk; a client that leaves cancels the app. httpx's ASGI transport
ran the app to its end first: an SSE endpoint waiting for its first event hung the test, and a
client that hung up during the app's retry loop waited it out (a trial's app)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from pytest_hardening import Harness

from .test_client_transport import Seen, starlette_app

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # trio keeps httpx's transport: no task outlives the call there


@pytest.fixture
async def client(seen: Seen) -> AsyncIterator[httpx.AsyncClient]:
    with Harness() as harness:
        harness.build(lambda: starlette_app(seen), {})
        async with harness.async_client() as client:
            yield client


@pytest.fixture
def seen() -> Seen:
    return Seen()


async def test_a_stream_hands_its_headers_over_before_its_first_chunk(
    client: httpx.AsyncClient, seen: Seen
) -> None:
    async with client.stream("GET", "/quiet-stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
    assert seen.background == ["quiet stream started"]
    assert seen.stopped_streams == 1, "leaving the stream cancels the app's generator"
    assert (await client.get("/echo/after")).status_code == 200


async def test_an_endless_stream_is_read_as_it_comes(client: httpx.AsyncClient, seen: Seen) -> None:
    async with client.stream("GET", "/endless/") as response:  # a Mount
        lines = response.aiter_lines()
        events = [line async for line in _first(lines, 8) if line]
    assert events == [f"data: {n}" for n in range(4)]
    assert seen.stopped_streams == 1


async def test_answers_sent_whole_come_back_whole(client: httpx.AsyncClient, seen: Seen) -> None:
    echoed = await client.post("/echo/x?q=1", content=b"hello")
    assert echoed.json() == {"token": "from-lifespan", "body": "hello"}
    assert seen.background == ["hello"]  # its background task ran before the answer
    assert (await client.get("/finite")).text == "abc"
    head = await client.head("/echo/x")
    assert (head.status_code, head.content) == (200, b"")
    assert (await client.get("/boom")).status_code == 500


async def test_a_body_the_app_fails_part_way_is_cut(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(httpx.RemoteProtocolError, match="the app failed after answering 200"):
        await client.get("/broken")
    (record,) = [r for r in caplog.records if r.name == "pytest_hardening.app"]
    assert "GET /broken (the client was answered 200, its body cut" in record.getMessage()


async def test_a_whole_streamed_body_then_a_failing_background_task_is_the_answer(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/streamed-then-fails")
    assert (response.status_code, response.text) == (200, "ab")
    (record,) = [r for r in caplog.records if r.name == "pytest_hardening.app"]
    assert record.levelno == logging.ERROR
    assert "GET /streamed-then-fails (the client was answered 200)" in record.getMessage()


async def _first(lines: AsyncIterator[Any], count: int) -> AsyncIterator[Any]:
    for _ in itertools.repeat(None, count):
        yield await lines.__anext__()


async def test_the_client_names_its_app(client: httpx.AsyncClient) -> None:
    # As hardened_client's TestClient does: fixtures of a test's own reach the app through it
    # (a trial's reached module state of a copy imported aside this way).
    paths = {route.path for route in client.app.routes}  # type: ignore[attr-defined]
    assert {"/finite", "/quiet-stream"} <= paths


async def test_a_client_that_leaves_a_stream_lets_the_app_clean_up(
    client: httpx.AsyncClient, seen: Seen
) -> None:
    async with client.stream("GET", "/cleaned-up") as response:
        assert await response.aiter_lines().__anext__() == "data: 0"
    assert seen.background == ["upstream closed"]
