"""Faults armed before the app starts reach its startup calls; with the clock, a latency or a
timeout met there (the startup runs in real time) answers at once and moves the clock when the
test starts, where it used to raise "Clock is not running" inside the app."""

from __future__ import annotations

import pytest

APP = """
import httpx
import pytest

from pytest_hardening import Provider


def create_app():
    state = {}

    async def app(scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    try:
                        async with httpx.AsyncClient(timeout=10) as http:
                            answer = await http.get("https://api.example.com/config")
                            state["warm"] = str(answer.status_code)
                    except Exception as error:
                        state["warm"] = type(error).__name__ + ": " + str(error)
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": state["warm"].encode()})

    return app


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_providers():
    return {"api": Provider("https://api.example.com")}


@pytest.fixture
def slow_api(faults):
    faults.latency("api", 3.0)


@pytest.fixture
def api_times_out(faults):
    faults.timeout("api")
"""

TESTS = """
def test_latency(clock, slow_api, hardened_client):
    assert hardened_client.get("/").text == "200"
    assert clock.advanced == 3.0


def test_timeout(clock, api_times_out, hardened_client):
    assert hardened_client.get("/").text.startswith("ReadTimeout")
    assert clock.advanced == 10.0  # the client's own read timeout


async def test_latency_async_client(clock, slow_api, hardened_async_client):
    assert (await hardened_async_client.get("/")).text == "200"
    assert clock.advanced == 3.0
"""


def test_startup_calls_meet_latency_and_timeouts_in_virtual_time(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(APP)
    pytester.makepyfile(test_startup=TESTS)
    pytester.makeini(
        "[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n"
    )
    result = pytester.runpytest_inprocess("-p", "pytest_hardening", "-p", "no:randomly")
    result.assert_outcomes(passed=3)
