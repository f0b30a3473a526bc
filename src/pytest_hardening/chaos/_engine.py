"""Run a scenario: steady state, method, steady state again, rollback, data-loss check."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager

from pytest_hardening.chaos._context import ChaosContext
from pytest_hardening.chaos._result import DataLossCheck, ScenarioResult
from pytest_hardening.chaos._scenario import Scenario, Step
from pytest_hardening.chaos._timeline import Timeline

Session = Callable[[int], AbstractContextManager[ChaosContext]]
"""Builds a fresh app + harness for one scenario run under a seed (see ``ChaosTarget``)."""


def _run_steps(ctx: ChaosContext, phase: str, steps: Iterable[Step]) -> None:
    ctx.phase = phase
    for step in steps:
        step.run(ctx)
    ctx.observe()


def _say_what_was_still_armed(ctx: ChaosContext) -> None:
    """The steady state is checked again right after the method, before the rollback: a fault
    the method left armed is still there, and the check meets it (a common surprise)."""
    active = getattr(ctx.faults, "active", None)
    armed = active() if callable(active) else []
    if armed:
        ctx.failures.append(
            "the steady state is checked again right after the method, before the rollback, "
            f"and these faults were still armed then: {', '.join(armed)}. Heal them as the "
            "method's last step when the steady state should hold after recovery"
        )


def execute(scenario: Scenario, ctx: ChaosContext) -> ScenarioResult:
    """Run ``scenario`` inside an already prepared context (app started, clock frozen)."""
    ctx.timeline.initial.update({n: str(ctx.breakers.state(n)) for n in ctx.breakers.names})
    ctx.start()
    result = ScenarioResult(scenario.name, scenario.description, ctx.seed, ctx.timeline)
    try:
        _run_steps(ctx, "steady state before", scenario.steady_state)
        if ctx.failures:
            ctx.failures.append("steady state did not hold before the method: not attempted")
        else:
            _run_steps(ctx, "method", scenario.method)
            failed = len(ctx.failures)
            _run_steps(ctx, "steady state after", scenario.steady_state)
            if len(ctx.failures) > failed:
                _say_what_was_still_armed(ctx)
    except Exception as exc:  # a crashing step is a failed scenario, not a crashed run
        ctx.fail(f"step raised {type(exc).__name__}: {exc}")
    finally:
        try:
            _run_steps(ctx, "rollback", scenario.rollback)
        except Exception as exc:
            ctx.fail(f"rollback raised {type(exc).__name__}: {exc}")
    if scenario.data_check is not None:
        ctx.phase = "data check"
        try:
            checked = scenario.data_check(ctx)
        except Exception as exc:
            ctx.fail(f"data check raised {type(exc).__name__}: {exc}")
        else:
            if isinstance(checked, DataLossCheck):
                result.data_loss = checked
            else:  # a forgotten return read as PASS, a bool crashed the report
                name = getattr(scenario.data_check, "__name__", repr(scenario.data_check))
                ctx.fail(
                    f"data check {name} returned {checked!r}, not a DataLossCheck(description, "
                    "checked, lost): return one, with what it checked and what it found lost"
                )
    # What fails a test of the fixtures though the app swallowed it: a host no provider owns,
    # a connection off the machine, a fault no call met.
    report = getattr(ctx.faults, "problems_report", None)  # the plugin's FaultInjector has it
    problems = report() if callable(report) else None
    if problems:
        ctx.phase = "teardown checks"
        ctx.fail(problems)
    # A wait on the frozen clock that never ended by itself, ended by the clock: the app may
    # have swallowed the error and answered as if nothing happened (the fixtures fail it too).
    waits = getattr(ctx.clock, "frozen_waits", None)  # the plugin's Clock has it
    if waits:
        ctx.phase = "teardown checks"
        ctx.fail("\n".join(waits))
    ctx.timeline.finish(ctx.now())
    result.failures = list(ctx.failures)
    result.logs = list(ctx.logs)
    return result


def run_scenario(scenario: Scenario, session: Session, *, seed: int = 0) -> ScenarioResult:
    """Build a fresh harness, run one scenario in it, tear it down, time the wall clock."""
    # measured outside the session: inside it time is frozen and perf_counter stands still
    started = time.perf_counter()
    try:
        with session(seed) as ctx:
            result = execute(scenario, ctx)
    except Exception as exc:
        result = ScenarioResult(scenario.name, scenario.description, seed, Timeline())
        result.failures.append(f"could not set up the scenario: {type(exc).__name__}: {exc}")
    result.wall_seconds = time.perf_counter() - started
    result.test = _current_test()
    return result


def _current_test() -> str | None:
    """The node id of the pytest test running now (pytest sets ``PYTEST_CURRENT_TEST`` to
    ``"<node id> (<phase>)"``), or None outside one."""
    current = os.environ.get("PYTEST_CURRENT_TEST")
    return current.rsplit(" (", 1)[0] if current else None


def run_scenarios(
    scenarios: Iterable[Scenario], session: Session, *, seed: int = 0
) -> Iterator[ScenarioResult]:
    """:func:`run_scenario` for each scenario in turn, yielding each result as it is known.

    A session that can reuse its app between runs (``session.reusing()``, e.g. a
    :class:`~pytest_hardening.chaos.HarnessSession` with a ``reset``) does so for these runs,
    and stops the app when the last one is done.
    """
    reusing = getattr(session, "reusing", None)
    with reusing() if callable(reusing) else contextlib.nullcontext():
        for scenario in scenarios:
            yield run_scenario(scenario, session, seed=seed)


def select(catalogue: Iterable[Scenario], names: Iterable[str]) -> list[Scenario]:
    """Scenarios by name, in catalogue order; unknown names raise with the known ones listed."""
    scenarios = list(catalogue)
    wanted = list(names)
    if not wanted:
        return scenarios
    known = {s.name for s in scenarios}
    unknown = [n for n in wanted if n not in known]
    if unknown:
        raise KeyError(f"unknown scenario(s) {unknown}; known: {sorted(known)}")
    return [s for s in scenarios if s.name in wanted]
