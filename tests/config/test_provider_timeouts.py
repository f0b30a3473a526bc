"""PROVIDER_TIMEOUTS: per-provider HTTP timeouts, parsed like BREAKER_OPEN_TIMEOUTS."""

from __future__ import annotations

import pytest

from reference_app.config import (
    PRODUCTION_OPTIONAL,
    PROVIDER_NAMES,
    VARIABLE_NAMES,
    ConfigurationError,
    load_settings,
)

from ._envs import production_env


def test_provider_timeouts_parse_names_case_insensitively_with_fractional_seconds() -> None:
    settings = load_settings({"PROVIDER_TIMEOUTS": "exotel=1, OpenAI = 2.5,google=0.25"})
    assert settings.provider_timeouts == {"exotel": 1.0, "openai": 2.5, "google": 0.25}


def test_every_provider_may_be_named() -> None:
    value = ",".join(f"{name}=3" for name in PROVIDER_NAMES)
    assert load_settings({"PROVIDER_TIMEOUTS": value}).provider_timeouts == dict.fromkeys(
        PROVIDER_NAMES, 3.0
    )
    assert set(PROVIDER_NAMES) == {"exotel", "openai", "wasabi", "shopify", "google"}


@pytest.mark.parametrize("value", ["", "   "])
def test_empty_provider_timeouts_means_unset(value: str) -> None:
    settings = load_settings({"PROVIDER_TIMEOUTS": value})
    assert settings.provider_timeouts == {}


# "database" is a breaker name (BREAKER_OPEN_TIMEOUTS accepts it) but not a provider client.
@pytest.mark.parametrize("value", ["telegram=2", "database=2", "exotel=1,twilio=1"])
def test_unknown_provider_names_are_rejected_listing_the_known_ones(value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings({"PROVIDER_TIMEOUTS": value})
    assert info.value.variables == ["PROVIDER_TIMEOUTS"]
    message = info.value.problems[0].message
    assert all(name in message for name in PROVIDER_NAMES), message
    assert "telegram" not in message  # the value is not echoed
    assert "twilio" not in message


@pytest.mark.parametrize(
    "value",
    ["exotel", "exotel=", "exotel=0", "exotel=-1", "exotel=nan", "exotel=inf", "exotel=soon", ","],
)
def test_bad_provider_timeout_numbers_are_rejected(value: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings({"PROVIDER_TIMEOUTS": value})
    assert info.value.variables == ["PROVIDER_TIMEOUTS"]
    assert "soon" not in str(info.value)


def test_provider_timeouts_are_a_known_optional_production_variable() -> None:
    assert "PROVIDER_TIMEOUTS" in VARIABLE_NAMES
    assert "PROVIDER_TIMEOUTS" in PRODUCTION_OPTIONAL
    settings = load_settings({**production_env(), "PROVIDER_TIMEOUTS": "exotel=2"})
    assert settings.is_production
    assert settings.provider_timeouts == {"exotel": 2.0}
