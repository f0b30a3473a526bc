"""A session with a ``reset`` starts every run from a reset app, whoever runs it.

The pytest recipe (``scenario_params`` + ``assert_scenario_passes``, nothing else) runs each
scenario outside ``reusing()``: the app is built per run, but an app built at import is the
same app each time, and a database file outlives any build, so the reset must run anyway.
"""

from __future__ import annotations

from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening import AppReuseWarning
from pytest_hardening.chaos import (
    ChaosContext,
    ChaosTarget,
    DataLossCheck,
    HarnessSession,
    Scenario,
    assert_scenario_passes,
    run_scenario,
    run_scenarios,
    send,
)


class Notes:
    """One app, as ``app_from_import`` hands back the app a module built; its notes outlive
    its lifespan, as rows in a database file do."""

    def __init__(self) -> None:
        self.rows: list[str] = []
        self.resets = 0

        async def add(request: Request) -> JSONResponse:
            self.rows.append((await request.json())["body"])
            return JSONResponse({"id": len(self.rows)}, status_code=201)

        async def every(request: Request) -> JSONResponse:
            return JSONResponse(self.rows)

        routes = [Route("/notes", add, methods=["POST"]), Route("/notes", every)]
        self.app = Starlette(routes=routes)

    def factory(self) -> Starlette:
        return self.app

    def reset(self, app: Any) -> None:
        self.rows.clear()
        self.resets += 1
        app.state.resets = self.resets  # a reset may set state (a marker): the app stays kept


def only_this_runs_notes(ctx: ChaosContext) -> DataLossCheck:
    accepted = sum(s.response.status_code == 201 for s in ctx.served)
    stored = ctx.client.get("/notes").json()
    extra = [f"note {b!r} stored though this run did not add it" for b in stored[accepted:]]
    return DataLossCheck("the notes stored are this run's", accepted, tuple(extra))


def _scenario(count: int) -> Scenario:
    return Scenario(
        name=f"{count}-notes",
        description=f"{count} notes added, {count} stored",
        method=(send("POST", "/notes", json={"body": "n"}, count=count, expect=201),),
        data_check=only_this_runs_notes,
    )


def _target(notes: Notes, reset: Any = None) -> ChaosTarget:
    session = HarnessSession(notes.factory, {}, {}, reset=reset or notes.reset)
    return ChaosTarget("notes", lambda: [_scenario(2), _scenario(3)], session)


def test_the_pytest_recipe_gets_a_reset_app_for_every_scenario() -> None:
    notes = Notes()
    target = _target(notes)
    for scenario in target.catalogue():  # as the parametrised tests run them, one by one
        assert_scenario_passes(scenario, target)
    assert notes.resets == 2


def test_an_app_built_inside_reusing_is_reset_before_its_first_run() -> None:
    notes = Notes()
    notes.rows.append("left by an earlier process")
    target = _target(notes)
    results = list(run_scenarios(target.catalogue(), target.session))
    assert [r.passed for r in results] == [True, True], [r.explain() for r in results]
    assert target.session.pool.reuses == 1  # built, reset, then kept for the second run


def test_a_reset_that_fails_on_a_fresh_app_says_so() -> None:
    def broken(app: Any) -> None:
        raise LookupError("no table notes")

    [first, _] = _target(Notes()).catalogue()
    result = run_scenario(first, _target(Notes(), broken).session)
    assert not result.passed
    [failure] = result.failures
    assert "could not set up the scenario" in failure
    assert "the session's reset" in failure
    assert "HarnessSession(reset=None)" in failure  # what to do about it
    assert "LookupError: no table notes, on an app just built, before the run" in failure


def test_a_reset_that_fails_on_a_later_run_speaks_of_the_session() -> None:
    # A trial's: the second run's reset failed, and the advice was the fixtures' ("return None
    # from `hardening_app_reset`") in a `hardening chaos` run.
    notes = Notes()
    calls = 0

    def fails_later(app: Any) -> None:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise LookupError("no table notes")
        notes.reset(app)

    target = _target(notes, fails_later)
    with pytest.warns(AppReuseWarning, match="when the app was handed back"):
        results = list(run_scenarios(target.catalogue(), target.session))
    failures = [f for r in results for f in r.failures]
    assert failures, [r.explain() for r in results]
    said = "\n".join(failures)
    assert "LookupError: no table notes" in said
    assert "HarnessSession(reset=None)" in said
    assert "hardening_app_reset" not in said
    assert "before the test" not in said


def test_a_refused_connection_is_told_how_a_chaos_run_accepts_it() -> None:
    # A trial's Redis on another host: the refusal's advice named the pytest marker and
    # `faults.allow_blocked()`, neither of which a `hardening chaos` run has.
    import contextlib
    import socket

    async def cached(request: Request) -> JSONResponse:
        with contextlib.suppress(OSError):  # the app goes on without its cache
            socket.create_connection(("cache.internal.example", 6379), timeout=1).close()
        return JSONResponse({"cached": False}, status_code=201)

    session = HarnessSession(
        lambda: Starlette(routes=[Route("/notes", cached, methods=["POST"])]), {}, {}
    )
    result = run_scenario(_scenario(1), session)
    assert not result.passed
    said = "\n".join(result.failures)
    assert "cache.internal.example:6379" in said
    assert "a Check step calling ctx.faults.allow_blocked()" in said
    assert "hardening_allow_network" not in said
    explained = result.explain()  # no empty heading for an app without breakers
    assert "breakers: none (the app shows no breaker)" in explained
    assert "breaker timelines" not in explained


def test_fast_fail_of_a_provider_no_breaker_fronts_says_there_is_none() -> None:
    # A trial's app called its provider directly: "called 2 time(s) while its breaker should
    # fail fast" of a breaker the app does not have.
    import httpx

    from pytest_hardening.chaos import ExpectFastFail, Req, Send

    async def rates(request: Request) -> JSONResponse:
        async with httpx.AsyncClient() as http:
            answer = await http.get("https://rates.example.com/eur")
        return JSONResponse({}, status_code=201 if answer.status_code == 200 else 502)

    app = Starlette(routes=[Route("/notes", rates, methods=["POST"])])
    session = HarnessSession(lambda: app, {}, {"rates": "https://rates.example.com"})

    def post(ctx: ChaosContext, i: int) -> Req:
        return Req("POST", "/notes")

    scenario = Scenario(
        name="no-breaker",
        description="",
        method=(ExpectFastFail("rates", Send(post, count=2, expect=201)),),
    )
    result = run_scenario(scenario, session)
    [failure] = result.failures
    assert "provider 'rates' was called 2 time(s) while its breaker should fail fast" in failure
    assert "(no breaker named 'rates': the app shows none." in failure


def test_a_half_open_path_on_an_observed_breaker_says_why_it_was_not_seen() -> None:
    # A trial's lazy breaker (no listener; its probe closes it inside one request) failed
    # ExpectTransitions with "got CLOSED → OPEN → CLOSED" and no word on why.
    import time

    import httpx

    from pytest_hardening.chaos import Advance, ExpectTransitions, Heal, Inject, Req, Send

    class Lazy:
        def __init__(self) -> None:
            self.state, self.failures, self.opened = "CLOSED", 0, 0.0

        def reset(self) -> None:
            self.state, self.failures = "CLOSED", 0

    lazy = Lazy()

    async def rates(request: Request) -> JSONResponse:
        if lazy.state == "OPEN" and time.monotonic() - lazy.opened < 30:
            return JSONResponse({}, status_code=503)
        async with httpx.AsyncClient() as http:
            answer = await http.get("https://rates.example.com/eur")
        if answer.status_code >= 500:
            lazy.failures += 1
            if lazy.failures >= 2:
                lazy.state, lazy.opened = "OPEN", time.monotonic()
            return JSONResponse({}, status_code=502)
        lazy.reset()  # the probe passed: closed within this one request
        return JSONResponse({}, status_code=201)

    def make() -> Starlette:
        app = Starlette(routes=[Route("/notes", rates, methods=["POST"])])
        app.state.breakers = {"rates": lazy}
        return app

    def post(ctx: ChaosContext, i: int) -> Req:
        return Req("POST", "/notes")

    scenario = Scenario(
        name="lazy-breaker",
        description="",
        method=(
            Inject("rates", "fail", 503),
            Send(post, count=2, expect=502),
            Heal("rates"),
            Advance(31),
            Send(post, count=1, expect=201),
            ExpectTransitions("rates", ("CLOSED", "OPEN", "HALF_OPEN", "CLOSED")),
        ),
    )
    session = HarnessSession(make, {}, {"rates": "https://rates.example.com"})
    [failure] = run_scenario(scenario, session).failures
    assert "got CLOSED → OPEN → CLOSED (a breaker without a listener API is observed" in failure
