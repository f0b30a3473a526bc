"""BreakerRegistry and building one from a table of BreakerConfig (plus overrides)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import httpx
import pytest

from reference_app.resilience import (
    BreakerConfig,
    BreakerRegistry,
    CircuitBreaker,
    ManualClock,
    State,
    Transition,
    build_service_breakers,
)

#: A table like an app's own (the reference app's is reference_app.config.SERVICE_BREAKERS).
SERVICES: Mapping[str, BreakerConfig] = {
    "exotel": BreakerConfig(5, 2, 60.0, http=True),
    "wasabi": BreakerConfig(5, 2, 90.0),
    "database": BreakerConfig(10, 3, 60.0),
}


def build(overrides: Any = None, *, clock: ManualClock | None = None) -> BreakerRegistry:
    return build_service_breakers(overrides, services=SERVICES, clock=clock)


def test_builds_one_breaker_per_table_entry() -> None:
    registry = build()
    assert isinstance(registry, Mapping)
    assert list(registry) == ["exotel", "wasabi", "database"]
    shape = {
        name: (b.failure_threshold, b.success_threshold, b.open_timeout)
        for name, b in registry.items()
    }
    assert shape == {"exotel": (5, 2, 60.0), "wasabi": (5, 2, 90.0), "database": (10, 3, 60.0)}
    assert all(b.name == name for name, b in registry.items())


def test_each_build_owns_fresh_breakers() -> None:
    first, second = build(), build()
    first["exotel"].force_open()
    assert second["exotel"].state is State.CLOSED


def test_overrides_by_field_mapping_and_by_config() -> None:
    registry = build(
        {
            "exotel": {"open_timeout": 2.0},
            "database": BreakerConfig(failure_threshold=1, open_timeout=5.0),
        }
    )
    assert registry["exotel"].open_timeout == 2.0
    assert registry["exotel"].failure_threshold == 5  # other fields keep their defaults
    assert (registry["database"].failure_threshold, registry["database"].open_timeout) == (1, 5.0)
    assert registry["wasabi"].open_timeout == 90.0
    assert SERVICES["exotel"].open_timeout == 60.0  # the table is untouched


def test_unknown_breaker_name_in_overrides_is_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="unknown circuit breaker 'twilio'") as info:
        build({"twilio": {"open_timeout": 1}})
    assert "exotel" in str(info.value)


def test_unknown_field_in_overrides_is_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="unknown field\\(s\\) timeout") as info:
        build({"exotel": {"timeout": 1}})
    assert "open_timeout" in str(info.value)


def test_invalid_override_value_fails_at_build() -> None:
    with pytest.raises(ValueError, match="open_timeout must be a positive number"):
        build({"wasabi": {"open_timeout": 0}})


def test_a_table_of_the_wrong_type_is_rejected_clearly() -> None:
    # Overrides passed where the table belongs must not build anything.
    with pytest.raises(TypeError, match="services must map names to BreakerConfig"):
        build_service_breakers(services={"exotel": {"open_timeout": 2.0}})  # type: ignore[dict-item]


def test_shared_injected_clock() -> None:
    clock = ManualClock()
    registry = build({"wasabi": {"failure_threshold": 1}}, clock=clock)
    registry["wasabi"].force_open()
    clock.advance(89)
    assert registry["wasabi"].state is State.OPEN
    clock.advance(1)
    assert registry["wasabi"].state is State.HALF_OPEN


def test_http_config_ignores_client_errors_and_the_default_counts_everything() -> None:
    registry = build()
    request = httpx.Request("GET", "https://provider.test")
    exotel = registry["exotel"]
    for _ in range(10):
        exotel.call(httpx.Response, 404, request=request)
    assert exotel.state is State.CLOSED
    for _ in range(5):
        exotel.call(httpx.Response, 503, request=request)
    assert exotel.state is State.OPEN
    database = registry["database"]
    for _ in range(10):
        with pytest.raises(LookupError):
            database.call(_raise_lookup)
    assert database.state is State.OPEN


def _raise_lookup() -> None:
    raise LookupError("row")


def test_reset_all_and_snapshot() -> None:
    registry = build(clock=ManualClock())
    registry["exotel"].force_open()
    registry["wasabi"].force_open()
    snapshot = registry.snapshot()
    json.dumps(snapshot)
    assert snapshot["exotel"]["state"] == "OPEN"
    assert snapshot["exotel"]["next_probe_in"] == 60.0
    assert snapshot["database"]["state"] == "CLOSED"
    registry.reset_all()
    assert {b.state for b in registry.values()} == {State.CLOSED}
    registry.reset_all(clear_history=True)
    assert all(b.transitions == () for b in registry.values())


def test_registry_listener_hears_every_breaker() -> None:
    registry = build()
    heard: list[Transition] = []
    unsubscribe = registry.add_listener(heard.append)
    registry["exotel"].force_open()
    registry["database"].force_open()
    assert [t.breaker for t in heard] == ["exotel", "database"]
    unsubscribe()
    registry["wasabi"].force_open()
    assert len(heard) == 2


def test_unknown_name_lookup_names_the_known_ones() -> None:
    registry = build()
    with pytest.raises(KeyError, match=r"no circuit breaker named 'stripe'.*database, exotel"):
        registry["stripe"]
    assert registry.get("stripe") is None
    assert "stripe" not in registry


def test_registry_from_custom_breakers_rejects_duplicates() -> None:
    registry = BreakerRegistry([CircuitBreaker("a"), CircuitBreaker("b")])
    assert len(registry) == 2
    assert "a=CLOSED" in repr(registry)
    with pytest.raises(ValueError, match="duplicate circuit breaker name 'a'"):
        BreakerRegistry([CircuitBreaker("a"), CircuitBreaker("a")])


def test_override_of_the_wrong_type_is_rejected_clearly() -> None:
    with pytest.raises(ValueError, match="overrides for breaker 'exotel' must be a BreakerConfig"):
        build({"exotel": 30})


def test_public_api_is_curated() -> None:
    import reference_app.resilience as package

    # (Order is ruff's RUF022 "isort-style" sort, checked by ruff.)
    assert len(set(package.__all__)) == len(package.__all__)
    for name in package.__all__:
        assert getattr(package, name) is not None
    assert not any(name.startswith("_") for name in package.__all__)
