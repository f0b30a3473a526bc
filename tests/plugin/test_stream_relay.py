"""An app relaying a provider's stream (``client.send(request, stream=True)`` into a
``StreamingResponse``) whose client leaves while the provider stalls: in production the
disconnect cancels the app's read at once. The stall passed in one virtual step before the
disconnect arrived, and the app failed with a read timeout its client never caused (a
trial's). A stall now waits for the app's reader to ask for more, or to leave, under either
hardened client."""

from __future__ import annotations

import pytest

CONFTEST = """
import httpx
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.responses import StreamingResponse
from starlette.routing import Route

from pytest_hardening import Provider

CLOSED = []
EVENTS = b"".join(f"data: {i}\\n\\n".encode() for i in range(9))


def create_app():
    client = httpx.AsyncClient(timeout=300)

    async def relay(request):
        ask = client.build_request("GET", "https://llm.example/s")
        upstream = await client.send(ask, stream=True)

        async def close():
            CLOSED.append(True)
            await upstream.aclose()

        return StreamingResponse(
            upstream.aiter_bytes(), media_type="text/event-stream", background=BackgroundTask(close)
        )

    return Starlette(routes=[Route("/relay", relay)])


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_providers():
    stream = httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content=EVENTS)
    return {"llm": Provider("https://llm.example", stream)}
"""

TESTS = """
import pytest

from conftest import CLOSED


def test_the_client_leaves_during_the_stall(hardened_client, faults, clock, caplog):
    CLOSED.clear()
    faults.stream_stall("llm", after=2)
    with hardened_client.stream("GET", "/relay") as response:
        lines = response.iter_lines()
        assert next(lines) == "data: 0"
    assert clock.advanced == 0  # the disconnect came first, as under a server
    assert not [r for r in caplog.records if "Exception in ASGI" in r.getMessage()]
    assert CLOSED == [True]  # the app's cleanup ran
    [call] = faults.calls("llm")
    assert call.outcome == (
        "stream_stall 200 (abandoned after 2/9 events: the stream_stall after 2 where it began)"
    )


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.anyio
async def test_the_async_client_leaves_during_the_stall(hardened_async_client, faults, clock):
    CLOSED.clear()
    faults.stream_stall("llm", after=2)
    async with hardened_async_client.stream("GET", "/relay") as response:
        lines = response.aiter_lines()
        assert await lines.__anext__() == "data: 0"
    assert clock.advanced == 0
    assert CLOSED == [True]
    [call] = faults.calls("llm")
    assert "where it began" in call.outcome


def test_the_client_that_reads_on_meets_the_timeout(hardened_client, faults, clock):
    faults.stream_stall("llm", after=2)
    with pytest.raises(Exception, match="ReadTimeout") as cut:
        with hardened_client.stream("GET", "/relay") as response:
            list(response.iter_lines())
    assert type(cut.value).__name__ == "RemoteProtocolError"  # the body ends where it failed
    assert clock.advanced == 300  # the app's client's read timeout, in virtual time
"""


def test_a_stall_waits_for_the_relays_reader(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_relay=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=3)
