"""PROVIDER_TIMEOUTS reaches the outbound requests; unset providers keep their clients' defaults."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from pytest_hardening import FaultInjector
from reference_app.testing import DEV_ENV

from .conftest import new_call


@pytest.fixture
def provider_timeouts() -> str:
    return ""  # parametrized by the tests below


@pytest.fixture
def hardening_dev_env(hardening_database_url: str, provider_timeouts: str) -> dict[str, str]:
    """The plugin's development env plus this test's PROVIDER_TIMEOUTS."""
    return {
        **DEV_ENV,
        "DATABASE_URL": hardening_database_url,
        "PROVIDER_TIMEOUTS": provider_timeouts,
    }


def _timeout(faults: FaultInjector, provider: str) -> object:
    """The timeout httpx applies to ``provider``'s latest request (its ``timeout`` extension)."""
    calls = faults.calls(provider)
    assert calls, f"expected POST /api/calls to call {provider}:\n{faults.history(provider)}"
    return calls[-1].request.extensions["timeout"]


def _phases(seconds: float, connect: float) -> dict[str, float]:
    return {"connect": connect, "read": seconds, "write": seconds, "pool": seconds}


@pytest.mark.parametrize("provider_timeouts", ["exotel=1.5, openai=2.5"])
def test_configured_timeouts_reach_the_outbound_requests(
    hardened_client: TestClient, faults: FaultInjector
) -> None:
    assert hardened_client.post("/api/calls", json=new_call()).status_code == 201

    assert _timeout(faults, "exotel") == _phases(1.5, connect=1.5)
    assert _timeout(faults, "openai") == _phases(2.5, connect=2.5)
    # Not configured: Shopify's client keeps its own default (10 s, connect 5 s).
    assert _timeout(faults, "shopify") == _phases(10.0, connect=5.0)


@pytest.mark.parametrize("provider_timeouts", ["exotel=12"])
def test_a_long_configured_timeout_keeps_the_five_second_connect_cap(
    hardened_client: TestClient, faults: FaultInjector
) -> None:
    assert hardened_client.post("/api/calls", json=new_call()).status_code == 201

    assert _timeout(faults, "exotel") == _phases(12.0, connect=5.0)


def test_without_provider_timeouts_each_client_keeps_its_default(
    hardened_client: TestClient, faults: FaultInjector
) -> None:
    assert hardened_client.post("/api/calls", json=new_call()).status_code == 201

    assert _timeout(faults, "exotel") == _phases(10.0, connect=5.0)
    assert _timeout(faults, "openai") == _phases(3.0, connect=2.0)
    assert _timeout(faults, "shopify") == _phases(10.0, connect=5.0)
