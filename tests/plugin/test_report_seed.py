"""The run's summary offers the run's seed for replay only when a fault drew from it: a
``faults.random(..., seed=N)`` replays the same whatever the run's seed (a trial saw a new
"replay" seed offered on every run of a test that gave its own)."""

from __future__ import annotations

import httpx
import pytest

from pytest_hardening import FaultInjector, Provider
from pytest_hardening._report import HardeningSession, TestRecord

PROVIDERS = {"p": Provider("https://p.test", lambda request: httpx.Response(200))}


def first_summary_line(*seeds: int | None) -> str:
    session = HardeningSession(seed=1234)
    record = TestRecord("test_x")
    with FaultInjector(PROVIDERS, seed=1234) as faults:
        for seed in seeds:
            faults.random("p", 0.5, seed=seed)
        record.add_faults(faults)
    session.add(record.as_dict())
    return session.summary_lines()[0]


@pytest.mark.parametrize("seeds", [(7,), (7, 8)], ids=["one", "two"])
def test_faults_seeded_by_the_test_offer_no_replay(seeds: tuple[int, ...]) -> None:
    assert "replay" not in first_summary_line(*seeds)


def test_a_fault_seeded_by_the_run_offers_its_seed() -> None:
    assert "seed 1234 (replay: --hardening-seed=1234)" in first_summary_line(7, None)
