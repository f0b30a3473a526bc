"""Scenarios run back to back share one running reference app, see nothing of each other,
and replay exactly."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from pytest_hardening.chaos import (
    ChaosContext,
    Check,
    ExpectBreaker,
    ExpectSentryEvent,
    Inject,
    Scenario,
    ScenarioResult,
    run_scenario,
    run_scenarios,
)
from reference_app.chaos import catalogue, health_is, place_calls, target
from reference_app.db import CallRow

#: A passing scenario that leaves everything it can behind: no heal, no rollback; Exotel's
#: breaker open, queued calls and their rows, a Sentry event, metrics and an alert.
DIRTY = Scenario(
    name="dirty",
    description="Exotel refused, its breaker left open, calls left queued",
    steady_state=(ExpectBreaker("database", "CLOSED"),),
    method=(
        place_calls(1, expect=201),
        Inject("exotel", "refuse"),
        place_calls(7, expect=202),
        ExpectBreaker("exotel", "OPEN"),
        ExpectSentryEvent("circuit breaker exotel opened"),
    ),
    rollback=(),
)


def _observe(seen: list[dict[str, Any]]) -> Check:
    """Records what a run finds when it starts, before it sends anything."""

    def probe(ctx: ChaosContext) -> str | None:
        if ctx.phase != "steady state before":
            return None

        async def rows() -> int:
            async with ctx.app.state.services.engine.connect() as connection:
                return int((await connection.execute(select(func.count(CallRow.id)))).scalar())

        state = ctx.app.state
        seen.append(
            {
                "app": id(ctx.app),
                "breakers": {n: str(ctx.breakers.state(n)) for n in ctx.breakers.names},
                "transitions": {n: list(ctx.breakers.transitions(n)) for n in ctx.breakers.names},
                "history": {n: list(b.transitions) for n, b in state.breakers.items()},
                "rows": ctx.run_async(rows),
                "sentry": list(ctx.sentry.events),
                "alerts": list(ctx.apm.alerts) if ctx.apm is not None else None,
                "exotel_calls": len(ctx.faults.calls("exotel")),
                "order_cache": len(state.services.order_cache),
            }
        )
        return None

    return Check("observe the app as found", probe)


def _clean(seen: list[dict[str, Any]]) -> Scenario:
    return Scenario(
        name="clean",
        description="observes the app it is given, then uses it normally",
        steady_state=(_observe(seen), health_is("healthy")),
        method=(place_calls(2, expect=201), ExpectBreaker("exotel", "CLOSED")),
        rollback=(),
    )


def test_a_scenario_after_a_dirty_one_sees_nothing_of_it_on_the_same_app() -> None:
    session = target().session
    seen: list[dict[str, Any]] = []
    clean = _clean(seen)
    # clean, dirty, clean: the second clean run must find what the first found
    results = list(run_scenarios([clean, DIRTY, clean], session))
    assert [r.passed for r in results] == [True, True, True], [r.explain() for r in results]
    assert session.pool.reuses == 2  # one app for all three runs
    first, after_dirty = seen
    assert first["app"] == after_dirty["app"]
    assert after_dirty == first, (first, after_dirty)
    assert first["rows"] == 0
    assert set(first["breakers"].values()) == {"CLOSED"}
    assert first["sentry"] == []
    assert first["alerts"] == []
    assert first["exotel_calls"] == 0
    assert len(session.pool) == 0  # stopped when the runs are over


def test_an_app_whose_scenario_failed_is_not_reused() -> None:
    session = target().session
    seen: list[dict[str, Any]] = []
    failing = Scenario(
        name="failing",
        description="expects what does not happen",
        steady_state=(place_calls(1, expect=201),),
        method=(Inject("exotel", "refuse"), ExpectBreaker("exotel", "OPEN")),
        rollback=(),
    )
    results = list(run_scenarios([failing, _clean(seen)], session))
    assert [r.passed for r in results] == [False, True]
    assert session.pool.reuses == 0  # the second run built its own app
    assert seen[0]["rows"] == 0


def test_runs_outside_run_scenarios_build_their_own_app() -> None:
    session = target().session
    seen: list[dict[str, Any]] = []
    clean = _clean(seen)
    for _ in range(2):
        with session(0) as ctx:
            ctx.phase = "steady state before"
            for step in clean.steady_state:
                step.run(ctx)
    assert seen[0]["app"] != seen[1]["app"]
    assert session.pool.reuses == 0
    assert len(session.pool) == 0


def _replayable(result: ScenarioResult) -> dict[str, Any]:
    """A result without what differs by design: wall time, the app's random request ids."""
    record = result.to_dict()
    record.pop("wall_seconds")
    for request in record["requests"]:
        request.pop("request_id", None)
    return record


@pytest.mark.slow
def test_a_seed_replays_the_same_timeline_to_the_microsecond() -> None:
    """The SDK's retry back-off is jittered (it moves the virtual clock): seeded per run, the
    same seed gives the same virtual times, on a fresh app and on a reused one alike."""
    scenario = next(s for s in catalogue() if s.name == "openai-outage")
    fresh = run_scenario(scenario, target().session, seed=3)
    reused = list(run_scenarios([scenario, scenario], target().session, seed=3))
    assert fresh.passed, fresh.explain()
    assert fresh.timeline.end % 1 != 0  # the retries' jitter is on the timeline
    assert _replayable(reused[0]) == _replayable(fresh)
    assert _replayable(reused[1]) == _replayable(fresh)
