"""The lifespan of an app object the harness starts again in each test, where production starts
it once: an app built once at import and no reset to keep it running between tests.

A lifespan error of such an app after its first run gets a note saying so, with the cure for
the client that started it (:func:`restarted`); a sync client's exit, the lifespan shutdown, is
timed as every shutdown is (:class:`TimedExit`). Apart from
:class:`~._harness_serving.HarnessServing`, which starts the clients and asks the pool how
many times the app ran its lifespan before.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from ._harness_report import timed_shutdown

__all__ = ["TimedExit", "restarted"]


class TimedExit:
    """A sync client whose exit (the app's lifespan shutdown) is timed by
    :func:`~._harness_report.timed_shutdown`."""

    def __init__(self, client: Any, app: Any, before: int = 0) -> None:
        self._client, self._app, self._before = client, app, before

    def __enter__(self) -> Any:
        return self._client.__enter__()

    def __exit__(self, *exc_info: Any) -> Any:
        with timed_shutdown(self._app), restarted(self._app, self._before):
            return self._client.__exit__(*exc_info)


@contextlib.contextmanager
def restarted(app: Any, before: int, *, in_test_loop: bool = False) -> Iterator[None]:
    """A lifespan error of an app object whose lifespan ran ``before`` times in earlier tests
    gets a note: production starts it once, and a shutdown that closes what the app made at
    import (a pool, a session manager) leaves the next start without it. Started ``in the
    test's loop`` (``hardened_async_client``), no reset keeps it: the cure differs."""
    try:
        yield
    except Exception as error:
        note = getattr(error, "add_note", None)  # Python 3.11+
        if before and note is not None:
            note(
                f"this app object ({type(app).__name__}) ran its lifespan {before} time(s) in "
                "earlier tests of this process (an app built once at import is one object, "
                "started and stopped in every test that runs its lifespan), where production "
                "starts it once: a startup that registers or opens what the last one left (metrics "
                "on a registry kept in a module: Duplicated timeseries), or a shutdown that "
                "closes what the app made at import (a pool, a session manager), fails in every "
                f"later test. {_ASYNC_CURE if in_test_loop else _SYNC_CURE}"
            )
        raise


_SYNC_CURE = (
    "Make the lifespan safe to run again; or give a hardening_app_reset (even `lambda app: "
    "None`), which keeps one app running between hardened_client tests "
    "(docs/getting-started.md)"
)
_ASYNC_CURE = (
    "hardened_async_client starts it in each test's own event loop, and no hardening_app_reset "
    "keeps it between async tests: what the app made at import that holds the loop it first "
    "ran in (an AsyncIOScheduler, an async client or engine) finds that loop closed ('Event "
    "loop is closed', 'attached to a different loop'). Make such objects in the lifespan; or "
    "run the async tests in one loop (asyncio_default_test_loop_scope and "
    'asyncio_default_fixture_loop_scope = "session"); or test through hardened_client with '
    "a hardening_app_reset, which keeps one app running (docs/getting-started.md, 'Async "
    "tests')"
)
