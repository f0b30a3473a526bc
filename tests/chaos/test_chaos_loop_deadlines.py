"""A chaos run's virtual waits pass the app's event-loop deadlines as a test's do: the run
warns of each, as the ``clock`` fixture does (docs/fixtures.md, the clock)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import LoopDeadlineWarning, Provider
from pytest_hardening.chaos import (
    ChaosTarget,
    HarnessSession,
    Inject,
    Scenario,
    assert_scenario_passes,
    send,
)


def create_app() -> Starlette:
    async def capped(request: Request) -> JSONResponse:
        try:
            async with asyncio.timeout(5), httpx.AsyncClient(timeout=60) as http:
                answer = await http.get("https://quotes.example/q")
        except TimeoutError:
            return JSONResponse({"status": "cut"})
        return JSONResponse({"status": answer.status_code})

    return Starlette(routes=[Route("/capped", capped)])


def _target(scenario: Scenario) -> ChaosTarget:
    quotes = Provider("https://quotes.example", lambda request: httpx.Response(200))
    session = HarnessSession(create_app, {}, {"quotes": quotes})
    return ChaosTarget("quotes", lambda: [scenario], session)


def _scenario(seconds: float) -> Scenario:
    return Scenario(
        name="slow-quotes",
        description="the quotes provider answers slowly; the app caps the call at 5 s",
        method=(Inject("quotes", "latency", (seconds,)), send("GET", "/capped", expect=200)),
    )


def test_a_run_past_the_apps_own_cap_warns() -> None:
    with pytest.warns(LoopDeadlineWarning) as seen:
        assert_scenario_passes(
            _scenario(8.0), _target(_scenario(8.0))
        )  # production: "cut" after 5 s
    [warning] = seen
    assert str(warning.message).startswith(
        "a latency(8.0s) fault moved the clock 8 s, past a deadline of the app's event loop "
        "(asyncio.timeout()/wait_for()) "
    )


def test_a_run_within_the_cap_is_quiet(recwarn: pytest.WarningsRecorder) -> None:
    assert_scenario_passes(_scenario(2.0), _target(_scenario(2.0)))
    assert not [w for w in recwarn if issubclass(w.category, LoopDeadlineWarning)]
