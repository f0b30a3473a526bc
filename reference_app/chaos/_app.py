"""The reference app as a chaos run builds it: rounds of the re-dial worker happen when a step
says so, never on the worker's real-time timer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import FastAPI

from reference_app import create_app

__all__ = ["REDIAL_TIMER_TASK", "create_chaos_app"]

#: The lifespan's background re-dial task (reference_app/_lifespan.py).
REDIAL_TIMER_TASK = "reference_app.redial"

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


def create_chaos_app() -> FastAPI:
    """``create_app()`` whose lifespan stops the re-dial worker's timer once started.

    The timer wakes every half second of *real* time and runs a round when one is due by the
    virtual clock, so where a round fell among a scenario's steps depended on how busy the
    machine was: a round could take the Exotel breaker's half-open probe from a request, or
    count a database failure while the database is down. In a chaos run the scenario moves the
    clock, and the ``RedialQueued`` step runs the round that is then due, the worker's own code
    (``RedialWorker.redial_once``), awaited: the same timeline on every run.
    """
    app = create_app()
    app.router.lifespan_context = _without_redial_timer(app.router.lifespan_context)
    return app


def _without_redial_timer(inner: Lifespan) -> Lifespan:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[Any]:
        async with inner(app) as state:
            timers = [t for t in asyncio.all_tasks() if t.get_name() == REDIAL_TIMER_TASK]
            if not timers:
                raise RuntimeError(
                    f"no task named {REDIAL_TIMER_TASK!r} after startup: update "
                    "reference_app/chaos/_app.py to the lifespan's re-dial task"
                )
            for task in timers:
                task.cancel()  # the lifespan's shutdown awaits it, cancelled
            yield state

    return lifespan
