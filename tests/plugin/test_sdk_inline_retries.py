"""openai 1.x and anthropic 0.x sleep inline in their retry loop (no ``_sleep_for_retry`` to
replace): under a clock their back-off waited for real, silently (a rate limit with
``retry-after: 20`` took 80 s in a trial). Their base client's sleeps now move the clock."""

from __future__ import annotations

import importlib.util
import sys
import time
import types
from pathlib import Path

import anyio
import pytest

from pytest_hardening import Clock, FaultInjector
from pytest_hardening._clock_cache import ClockCache

OLD_BASE_CLIENT = """
import time

import anyio


class SyncAPIClient:
    def retry(self, delay):
        time.sleep(delay)  # inline, as openai 1.63's _retry_request does


class AsyncAPIClient:
    async def retry(self, delay):
        await anyio.sleep(delay)
"""


@pytest.fixture
def old_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """An SDK release without ``_sleep_for_retry``, as ``openai._base_client`` (the real one
    is put back after the test)."""
    pytest.importorskip("openai")  # the plugin reaches an SDK the app imported, never imports
    source = tmp_path / "_base_client.py"
    source.write_text(OLD_BASE_CLIENT)
    spec = importlib.util.spec_from_file_location("openai._base_client", source)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "openai._base_client", module)
    return module


def test_an_inline_retry_sleep_moves_the_clock(
    old_sdk: types.ModuleType, clock_cache: ClockCache
) -> None:
    with Clock(cache=clock_cache) as clock, FaultInjector({}, clock=clock) as faults:
        old_sdk.SyncAPIClient().retry(20.0)
        anyio.run(old_sdk.AsyncAPIClient().retry, 3.0)
        assert faults.retry_sleeps == [20.0, 3.0]  # not slept: the clock moved instead
        assert clock.advanced == 23.0
    assert old_sdk.time is time  # the module's own references, once the injector stopped


def test_with_the_clock_alone_too(old_sdk: types.ModuleType, clock: Clock) -> None:
    # No faults: the harness's own back-off (a service or a breaker called directly).
    old_sdk.SyncAPIClient().retry(20.0)
    anyio.run(old_sdk.AsyncAPIClient().retry, 3.0)
    assert clock.advanced == 23.0  # not slept
