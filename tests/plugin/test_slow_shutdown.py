"""A lifespan shutdown that waits in real time (a framework waiting for the app's background
tasks: Quart waits up to 5 s) costs every test that builds the app: the harness says so."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette

from pytest_hardening import Harness, RealSleepWarning, _harness_report


def lingering_app() -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await asyncio.sleep(0.1)  # waits for a task that never stops, as a framework would

    return Starlette(lifespan=lifespan)


@pytest.mark.parametrize("client", ["sync", "lifespan only"])
def test_a_slow_shutdown_is_named(monkeypatch: pytest.MonkeyPatch, client: str) -> None:
    monkeypatch.setattr(_harness_report, "SLOW_SHUTDOWN_SECONDS", 0.05)
    harness = Harness()
    harness.build(lingering_app, {})
    if client == "sync":
        harness.client()
    else:
        harness.start_lifespan()
    with pytest.warns(RealSleepWarning, match=r"Starlette app's lifespan shutdown took 0\.\d\d s"):
        harness.close()


def test_a_quick_shutdown_says_nothing(recwarn: Any) -> None:
    with Harness() as harness:
        harness.build(lambda: Starlette(), {})
        harness.client()
    assert not [w for w in recwarn if issubclass(w.category, RealSleepWarning)]
