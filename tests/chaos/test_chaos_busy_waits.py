"""A chaos run whose app waited on the frozen clock for a deadline that never came (a busy-wait
on ``time.time``) fails, naming the loop, as a test of the fixtures does: the clock ends such a
wait with an error, and an app that swallows it answered as if nothing happened."""

from __future__ import annotations

import time

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import _clock_deadlines
from pytest_hardening.chaos import ChaosTarget, HarnessSession, Scenario, run_scenario, send

#: Rounds of the spin the clock did not end: a few real seconds, then the run fails.
BOUND = 1_000_000


def spin_for(seconds: float) -> None:
    end = time.time() + seconds  # "simulated work": a busy-wait on the wall clock
    for _ in range(BOUND):
        if time.time() >= end:
            return


def create_app() -> Starlette:
    async def work(request: Request) -> JSONResponse:
        try:
            spin_for(0.05)
        except Exception:  # the app's catch-all: the run would pass unwarned
            return JSONResponse({"status": "done"})
        return JSONResponse({"status": "done"})

    return Starlette(routes=[Route("/work", work)])


def test_a_run_whose_app_busy_waited_on_the_frozen_clock_fails_naming_the_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(_clock_deadlines, "SECONDS", 0.02)  # real seconds before it is ended
    scenario = Scenario(
        name="simulated-work",
        description="the app simulates work by spinning on the wall clock",
        method=(send("GET", "/work", expect=200),),
    )
    session = HarnessSession(create_app, {}, {})
    result = run_scenario(scenario, ChaosTarget("work", lambda: [scenario], session).session)
    assert not result.passed
    [failure] = result.failures
    assert failure.startswith("[teardown checks @")
    assert f"a loop at {__name__}:" in failure
    assert "(in spin_for) read the frozen clock" in failure
    assert "clock.paused()" in failure
