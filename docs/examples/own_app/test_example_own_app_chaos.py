"""Chaos guide: the scenario engine against your own app (pricing_app, a pybreaker breaker)."""

from __future__ import annotations

import httpx
import pytest
from pricing_app import create_app

from pytest_hardening import Provider
from pytest_hardening.chaos import (
    Advance,
    ChaosTarget,
    ExpectBreaker,
    HarnessSession,
    Heal,
    Inject,
    Scenario,
    assert_scenario_passes,
    breaker_line,
    scenario_params,
    send,
)


def healthy_pricing(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"price": 10.5})


PRICING_OUTAGE = Scenario(
    name="pricing-outage",
    description="the pricing API is down: cached quotes, breaker opens, recovers after 30s",
    steady_state=(send("GET", "/quote", expect=200),),
    method=(
        Inject("pricing", "fail", (503,)),
        send("GET", "/quote", count=3, expect=200),
        ExpectBreaker("pricing", "OPEN"),
        Heal("pricing"),
        Advance(30),
        send("GET", "/quote", expect=200),
        ExpectBreaker("pricing", "CLOSED"),
    ),
    rollback=(Heal(),),
)

TARGET = ChaosTarget(
    name="pricing",
    catalogue=lambda: [PRICING_OUTAGE],
    session=HarnessSession(
        app_factory=create_app,
        env={"PRICING_URL": "https://pricing.example.com"},
        providers={"pricing": Provider("https://pricing.example.com", healthy_pricing)},
    ),
)


@pytest.mark.chaos
def test_pricing_outage() -> None:
    result = assert_scenario_passes(PRICING_OUTAGE, TARGET)
    # pybreaker does not say why it moved, so its arrows carry no reason; time still shows
    assert breaker_line(result.timeline, "pricing") == (
        "pricing CLOSED ─→ OPEN ─30s→ HALF_OPEN ─→ CLOSED"
    )


# The whole catalogue, one test per scenario (``pytest -m chaos``).
@pytest.mark.parametrize("scenario", scenario_params(TARGET))
def test_scenario(scenario: Scenario) -> None:
    assert_scenario_passes(scenario, TARGET)
