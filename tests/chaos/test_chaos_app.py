"""The reference app as chaos runs build it: re-dial rounds only when a step runs one."""

from __future__ import annotations

import asyncio

from reference_app.chaos import target
from reference_app.chaos._app import REDIAL_TIMER_TASK


async def _running_tasks() -> list[str]:
    return [t.get_name() for t in asyncio.all_tasks() if not t.done()]


def test_a_chaos_run_has_no_real_time_redial_timer_only_the_other_background_tasks() -> None:
    with target().session(0) as ctx:
        running = ctx.run_async(_running_tasks)
    assert REDIAL_TIMER_TASK not in running
    assert "reference_app.upload_retry" in running  # the lifespan's other task still runs
