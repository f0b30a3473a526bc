"""The reference app's chaos catalogue as pytest tests: ``pytest -m chaos`` selects them."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from pytest_hardening.chaos import (
    Scenario,
    ScenarioResult,
    assert_scenario_passes,
    breaker_line,
    execute,
    render_html,
    scenario_params,
)
from reference_app.chaos import catalogue, target

TARGET = target()
Run = Callable[[str], ScenarioResult]


@pytest.fixture(scope="module")
def run_once(request: pytest.FixtureRequest) -> Iterator[Run]:
    """Each scenario runs once per module; the detailed tests below reuse its result. The
    runs share one app, reset between them, as in ``hardening chaos``."""
    seed = request.config.getoption("hardening_seed", None) or 0
    results: dict[str, ScenarioResult] = {}
    scenarios = {s.name: s for s in TARGET.catalogue()}

    def run(name: str) -> ScenarioResult:
        if name not in results:
            results[name] = assert_scenario_passes(scenarios[name], TARGET, seed=seed)
        return results[name]

    with TARGET.session.reusing():
        yield run


@pytest.mark.parametrize("scenario", scenario_params(TARGET))
def test_scenario(scenario: Scenario, run_once: Run) -> None:
    run_once(scenario.name)


REQUIRED = {
    "exotel-outage",
    "openai-outage",
    "shopify-outage",
    "wasabi-outage",
    "database-loss",
    "exotel-flapping",
    "openai-slow",
    "exotel-rate-limited",
    "openai-garbage",
    "openai-intermittent",
    "exotel-and-openai-down",
    "exotel-recovery-under-traffic",
}


def test_catalogue_covers_the_required_scenarios_each_with_a_data_check() -> None:
    scenarios = list(catalogue())
    names = [s.name for s in scenarios]
    assert len(names) == len(set(names))
    assert set(names) >= REQUIRED
    for scenario in scenarios:
        assert scenario.description
        assert scenario.steady_state, scenario.name
        assert scenario.rollback, scenario.name
        assert scenario.data_check is not None, scenario.name


@pytest.mark.chaos
def test_outage_cycle_reads_like_the_spec(run_once: Run) -> None:
    result = run_once("exotel-outage")
    assert breaker_line(result.timeline, "exotel") == (
        "exotel CLOSED ─5 fails→ OPEN ─60s→ HALF_OPEN ─2 ok→ CLOSED"
    )
    # 202 while Exotel is down (queued, never lost), 201 before and after
    statuses = [r.status for r in result.timeline.requests if r.path == "/api/calls"]
    assert statuses == [201, *[202] * 8, 201, 201, 201]
    assert result.data_loss is not None
    assert result.data_loss.checked == 12
    assert result.timeline.changed_breakers() == ["exotel"]


@pytest.mark.chaos
def test_database_loss_serves_503_with_retry_after_and_writes_nothing(run_once: Run) -> None:
    result = run_once("database-loss")
    assert breaker_line(result.timeline, "database") == (
        "database CLOSED ─10 fails→ OPEN ─60s→ HALF_OPEN ─3 ok→ CLOSED"
    )
    assert result.timeline.requests_by_status()[503] >= 13
    assert result.data_loss is not None
    assert "no order refused with 503 is stored" in result.data_loss.description


@pytest.mark.chaos
def test_the_seed_picks_the_random_faults_and_the_invariants_hold_for_each() -> None:
    intermittent = next(s for s in catalogue() if s.name == "openai-intermittent")
    outcomes: dict[int, list[str]] = {}
    for seed in (1, 2):
        with TARGET.session(seed) as ctx:
            result = execute(intermittent, ctx)
            outcomes[seed] = [call.outcome for call in ctx.faults.calls("openai")]
        assert result.passed, result.explain()
        assert "fail 503" in outcomes[seed]
    assert outcomes[1] != outcomes[2]  # another seed, another run (replay one with --seed)


def test_the_report_names_each_requests_id(run_once: Run) -> None:
    result = run_once("exotel-outage")
    requests = result.to_dict()["requests"]
    assert requests, "the scenario sent no request"
    ids = [r.get("request_id", "") for r in requests]
    assert all(len(i) >= 8 for i in ids), ids  # the app's X-Request-ID, one per request
    assert len(set(ids)) == len(ids)
    assert f"(request {ids[0]})" in render_html([result])
