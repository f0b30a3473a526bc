"""SDKs made by the OpenAI and Anthropic SDKs' generator (groq, cerebras, together ...) share
their base client, ``_sleep_for_retry`` included: a trial's groq client backed off for real
under the clock, in its async path without a word. Any loaded ``<package>._base_client`` of
that shape now backs off in virtual time, imported before the injector started or after."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from pytest_hardening import Clock, FaultInjector
from pytest_hardening._clock_cache import ClockCache

GENERATED_BASE_CLIENT = """
import time

import anyio


class _BaseClient:
    def _calculate_retry_timeout(self, remaining_retries, options, response_headers):
        return 20.0 if response_headers else 0.5 * (3 - remaining_retries)


class SyncAPIClient(_BaseClient):
    def _sleep_for_retry(self, *, retries_taken, max_retries, options, response):
        time.sleep(self._calculate_retry_timeout(max_retries - retries_taken, options, None))


class AsyncAPIClient(_BaseClient):
    async def _sleep_for_retry(self, *, retries_taken, max_retries, options, response):
        await anyio.sleep(self._calculate_retry_timeout(max_retries - retries_taken, options, None))
"""


@pytest.fixture
def generated_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A package ``gensdk`` with a generated base client, importable (not imported yet)."""
    package = tmp_path / "gensdk"
    package.mkdir()
    (package / "__init__.py").write_text("from gensdk._base_client import AsyncAPIClient\n")
    (package / "_base_client.py").write_text(GENERATED_BASE_CLIENT)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield "gensdk"
    finally:
        for name in [n for n in sys.modules if n.partition(".")[0] == "gensdk"]:
            del sys.modules[name]


def _back_off(base: object) -> None:
    sync, async_ = base.SyncAPIClient(), base.AsyncAPIClient()  # type: ignore[attr-defined]
    sync._sleep_for_retry(retries_taken=0, max_retries=2, options=None, response=None)
    retry = async_._sleep_for_retry
    anyio.run(lambda: retry(retries_taken=1, max_retries=2, options=None, response=None))


@pytest.mark.parametrize("imported", ["before", "after"])
def test_a_generated_sdks_retry_sleeps_move_the_clock(
    generated_sdk: str, imported: str, clock_cache: ClockCache
) -> None:
    if imported == "before":
        __import__(generated_sdk)
    with Clock(cache=clock_cache) as clock, FaultInjector({}, clock=clock) as faults:
        if imported == "after":
            __import__(generated_sdk)  # as an app imports its SDK inside a handler
        _back_off(sys.modules[f"{generated_sdk}._base_client"])
        assert faults.retry_sleeps == [0.5, 1.0]  # the SDK's own delays, not slept
        assert clock.advanced == 1.5
        assert faults.real_sleeps == []
    base = sys.modules[f"{generated_sdk}._base_client"]
    assert "_sleep_for_retry" in vars(base.SyncAPIClient)  # its own method, put back


def test_without_a_clock_the_real_sleeps_are_counted_once(generated_sdk: str) -> None:
    base = __import__(f"{generated_sdk}._base_client", fromlist=["SyncAPIClient"])
    with FaultInjector({}) as faults:
        base.SyncAPIClient()._sleep_for_retry(  # a delay of 0 s: slept, not waited for
            retries_taken=0, max_retries=3, options=None, response=None
        )
        # Counted by the SDK's back-off, not again as a module the injector does not know.
        assert len(faults.real_sleeps) == 1
