"""An app whose startup starts a sync job on a thread of its own (as an app's startup sync
does), stopped at its shutdown or not: for tests/plugin/test_left_threads.py."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette


def create_app(release: threading.Event, *, stop_at_shutdown: bool) -> Starlette:
    """``release``: set when the test is done, so that no thread of the app outlives it."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        stop = threading.Event()

        def sync_job() -> None:  # waits for what never comes, unless told to stop
            while not stop.wait(0.01) and not release.is_set():
                pass

        job = threading.Thread(target=sync_job, name="StartupSync", daemon=True)
        job.start()
        yield
        if stop_at_shutdown:
            stop.set()
            job.join(5)

    return Starlette(lifespan=lifespan)
