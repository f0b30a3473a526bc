"""Chaos guide: a scenario of your own against the reference app, run by pytest with the same
engine and harness as ``hardening chaos``."""

from __future__ import annotations

import pytest

from pytest_hardening.chaos import (
    Advance,
    ExpectBreaker,
    ExpectTransitions,
    Heal,
    Inject,
    Scenario,
    assert_scenario_passes,
    breaker_line,
)
from reference_app.chaos import calls_kept, health_is, place_calls, target

SHOPIFY_RATE_LIMITED = Scenario(
    name="shopify-rate-limited",
    description="Shopify answers 429: calls still go out with a generic script; "
    "the breaker opens, then recovers",
    steady_state=(health_is("healthy"), place_calls(1, expect=201)),
    method=(
        Inject("shopify", "rate_limit", kwargs={"retry_after": 10}),
        place_calls(5, expect=201),
        ExpectBreaker("shopify", "OPEN"),
        health_is("degraded"),
        Heal("shopify"),
        Advance(60),
        place_calls(2, expect=201),
        ExpectTransitions("shopify", ("CLOSED", "OPEN", "HALF_OPEN", "CLOSED")),
    ),
    rollback=(Heal(),),
    data_check=calls_kept,
)


@pytest.mark.chaos
def test_shopify_rate_limited() -> None:
    result = assert_scenario_passes(SHOPIFY_RATE_LIMITED, target(), seed=1)
    assert breaker_line(result.timeline, "shopify") == (
        "shopify CLOSED ─5 fails→ OPEN ─60s→ HALF_OPEN ─2 ok→ CLOSED"
    )
    assert result.data_loss is not None
    assert result.data_loss.passed
