"""The pytest runner: one parametrised test per scenario, failures explained."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pytest

from pytest_hardening.chaos._engine import run_scenario
from pytest_hardening.chaos._result import ScenarioResult
from pytest_hardening.chaos._scenario import Scenario
from pytest_hardening.chaos._target import ChaosTarget


def scenario_params(target: ChaosTarget | Iterable[Scenario]) -> list[Any]:
    """``pytest.param`` per scenario of ``target``'s catalogue (or of the scenarios given),
    id = its name, marked ``chaos`` (``pytest -m chaos``)."""
    catalogue = getattr(target, "catalogue", None)
    scenarios = catalogue() if callable(catalogue) else list(target)  # type: ignore[arg-type]
    return [pytest.param(s, id=s.name, marks=pytest.mark.chaos) for s in scenarios]


def assert_scenario_passes(
    scenario: Scenario, target: ChaosTarget, *, seed: int = 0
) -> ScenarioResult:
    """Run ``scenario`` against a fresh harness; fail with the explained result if it failed."""
    __tracebackhide__ = True
    result = run_scenario(scenario, target.session, seed=seed)
    result.target = target.spec  # the replay command names it
    if not result.passed:
        pytest.fail(result.explain(), pytrace=False)
    return result
