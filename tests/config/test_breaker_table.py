"""The app's breaker table (``SERVICE_BREAKERS``): one breaker per dependency, each app gets it."""

from __future__ import annotations

import httpx

from reference_app import create_app, load_settings
from reference_app.config import SERVICE_BREAKERS
from reference_app.resilience import ManualClock, State


def test_one_breaker_per_dependency_with_its_thresholds() -> None:
    shape = {
        name: (config.failure_threshold, config.success_threshold, config.open_timeout)
        for name, config in SERVICE_BREAKERS.items()
    }
    assert shape == {
        "exotel": (5, 2, 60.0),
        "openai": (5, 2, 60.0),
        "wasabi": (5, 2, 90.0),
        "shopify": (5, 2, 60.0),
        "database": (10, 3, 60.0),
        "google": (5, 2, 60.0),
    }


def test_every_app_builds_its_own_breakers_from_the_table() -> None:
    first, second = (create_app(load_settings({})).state.breakers for _ in range(2))
    assert sorted(first) == sorted(SERVICE_BREAKERS)
    for name, config in SERVICE_BREAKERS.items():
        breaker = first[name]
        assert (breaker.failure_threshold, breaker.success_threshold) == (
            config.failure_threshold,
            config.success_threshold,
        )
    first["exotel"].force_open()
    assert second["exotel"].state is State.CLOSED


def test_the_breakers_count_exceptions_not_results() -> None:
    # The provider clients raise for exactly the outcomes that are failures (5xx, 429, timeouts,
    # garbage) and hand 4xx back as a result: a result check on the breaker would never fire.
    breaker = SERVICE_BREAKERS["exotel"].build("exotel", clock=ManualClock())
    request = httpx.Request("POST", "https://api.exotel.test")
    for _ in range(10):
        breaker.call(httpx.Response, 503, request=request)
    assert breaker.state is State.CLOSED
    assert breaker.metrics().successes == 10
