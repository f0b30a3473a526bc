"""The Google Cloud clients (Firestore, Pub/Sub, Tasks) retry through google-api-core, whose
loops sleep for real: a trial's Firestore read retried UNAVAILABLE for its 300 s deadline, and
under the clock (its deadline read from the frozen ``time.monotonic``) never ended. Its sleeps
now move the clock, as the other retry libraries' do."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
import types
from pathlib import Path

import pytest

from pytest_hardening import Clock, FaultInjector
from pytest_hardening._clock_cache import ClockCache

# The shape of google-api-core 2.x's retry_unary(_async): a deadline on time.monotonic, the
# sleeps through the module's own time / asyncio names.
RETRY_UNARY = """
import time


def retry_target(target, deadline, delay):
    end = time.monotonic() + deadline
    while True:
        try:
            return target()
        except OSError:
            if time.monotonic() + delay > end:
                raise TimeoutError(f"Timeout of {deadline}s exceeded")
            time.sleep(delay)
"""

RETRY_UNARY_ASYNC = """
import asyncio
import time


async def retry_target(target, deadline, delay):
    end = time.monotonic() + deadline
    while True:
        try:
            return await target()
        except OSError:
            if time.monotonic() + delay > end:
                raise TimeoutError(f"Timeout of {deadline}s exceeded")
            await asyncio.sleep(delay)
"""


def _module(tmp_path: Path, name: str, source: str) -> types.ModuleType:
    path = tmp_path / f"{name.rpartition('.')[2]}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def api_core(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[types.ModuleType, ...]:
    """google-api-core's retry modules, as a Google Cloud client has them loaded."""
    monkeypatch.setitem(sys.modules, "google.api_core", types.ModuleType("google.api_core"))
    modules = []
    for name, source in (
        ("google.api_core.retry.retry_unary", RETRY_UNARY),
        ("google.api_core.retry.retry_unary_async", RETRY_UNARY_ASYNC),
    ):
        module = _module(tmp_path, name, source)
        monkeypatch.setitem(sys.modules, name, module)
        modules.append(module)
    return tuple(modules)


def unavailable() -> None:
    raise ConnectionRefusedError("UNAVAILABLE")


async def unavailable_async() -> None:
    unavailable()


def test_a_clients_retries_reach_their_deadline_in_virtual_time(
    api_core: tuple[types.ModuleType, ...],
    clock_cache: ClockCache,
) -> None:
    unary, unary_async = api_core
    with Clock(cache=clock_cache) as clock, FaultInjector({}, clock=clock) as faults:
        with pytest.raises(TimeoutError, match="Timeout of 300"):
            unary.retry_target(unavailable, deadline=300.0, delay=60.0)
        with pytest.raises(TimeoutError, match="Timeout of 300"):
            asyncio.run(unary_async.retry_target(unavailable_async, deadline=300.0, delay=60.0))
        assert faults.retry_sleeps == [60.0] * 10  # five per deadline, none slept
        assert clock.advanced == 600.0
    assert unary.time is time  # the module's own names again once the injector stopped
