"""The reference app's chaos catalogue as pytest tests: ``pytest -m chaos`` selects them."""

from __future__ import annotations

import pytest

from pytest_hardening.chaos import (
    Scenario,
    assert_scenario_passes,
    breaker_line,
    scenario_params,
)
from reference_app.chaos import catalogue, target

TARGET = target()


@pytest.mark.parametrize("scenario", scenario_params(TARGET))
def test_scenario(scenario: Scenario, request: pytest.FixtureRequest) -> None:
    seed = request.config.getoption("hardening_seed", None) or 0
    assert_scenario_passes(scenario, TARGET, seed=seed)


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
def test_outage_cycle_reads_like_the_spec() -> None:
    exotel = next(s for s in catalogue() if s.name == "exotel-outage")
    result = assert_scenario_passes(exotel, TARGET)
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
def test_database_loss_serves_503_with_retry_after_and_writes_nothing() -> None:
    loss = next(s for s in catalogue() if s.name == "database-loss")
    result = assert_scenario_passes(loss, TARGET)
    assert breaker_line(result.timeline, "database") == (
        "database CLOSED ─10 fails→ OPEN ─60s→ HALF_OPEN ─3 ok→ CLOSED"
    )
    assert result.timeline.requests_by_status()[503] >= 13
    assert result.data_loss is not None
    assert "no order refused with 503 is stored" in result.data_loss.description
