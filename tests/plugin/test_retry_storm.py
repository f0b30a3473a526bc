"""A retry loop without a stop spun for ever under the clock: its back-off took no time, the test
hung at full CPU with no word, and its teardown, which would have said why, never came (a
trial's tenacity ``@retry`` without ``stop=`` against a refused provider). From the
RETRY_STORM-th back-off sleep of a test, the sleep raises RetryStormError, and the teardown says
where the loop is and what to give it."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import tenacity

from pytest_hardening import Clock, FaultInjector, Provider, RetryStormError, _retry_storm
from pytest_hardening._clock_cache import ClockCache

PROVIDERS = {"rerank": Provider("https://rerank.example", None)}
#: A lower ceiling than the plugin's 10,000, for the suite's time: the same rule.
RETRY_STORM = 300


@pytest.fixture(autouse=True)
def lower_ceiling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_retry_storm, "RETRY_STORM", RETRY_STORM)


@tenacity.retry(
    wait=tenacity.wait_random_exponential(max=60),
    retry=tenacity.retry_if_exception_type(Exception),  # and no stop=
)
def rerank_forever() -> httpx.Response:
    return httpx.get("https://rerank.example/v1/rerank").raise_for_status()


async def poll_forever() -> None:
    while True:  # the app's own loop: retry, back off, never give up
        try:
            async with httpx.AsyncClient() as client:
                (await client.get("https://rerank.example/v1/rerank")).raise_for_status()
                return
        except httpx.HTTPError:
            await asyncio.sleep(1)


def test_a_library_retry_without_a_stop_is_ended_and_named(clock_cache: ClockCache) -> None:
    with Clock(cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock) as faults:
        faults.virtual_backoff(__name__)
        faults.refuse("rerank")
        with pytest.raises(RetryStormError, match=r"retrying of tests\..*rerank_forever"):
            rerank_forever()
        assert len(faults.retry_sleeps) == RETRY_STORM
        report = faults.problems_report()
    assert report is not None
    assert f"the test's retrying backed off {RETRY_STORM} times" in report
    assert "stop_after_attempt" in report
    assert "If every call stops, the test made thousands of retrying calls" in report


def test_the_apps_own_loop_is_ended_too(clock_cache: ClockCache) -> None:
    with Clock(cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock) as faults:
        faults.virtual_backoff(__name__)
        faults.fail("rerank", 503)
        with pytest.raises(RetryStormError, match="poll_forever"):
            asyncio.run(poll_forever())
        assert clock.advanced == RETRY_STORM  # one virtual second each


def test_a_bounded_retry_is_left_alone(clock_cache: ClockCache) -> None:
    with Clock(cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock) as faults:
        faults.refuse("rerank")
        bounded = tenacity.retry(stop=tenacity.stop_after_attempt(50))(rerank_forever.__wrapped__)
        with pytest.raises(tenacity.RetryError):
            bounded()
        assert len(faults.retry_sleeps) == 49
        assert faults.problems_report() is None
