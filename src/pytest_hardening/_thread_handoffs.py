"""Who handed a pool's worker thread the work it runs: the app's module that submitted it.

An async app runs a sync library off its event loop by handing the library's own method to a
thread (``await asyncio.to_thread(client.execute, query)``, ``loop.run_in_executor(None,
client.get)``, ``executor.submit(...)``, Starlette's ``run_in_threadpool(client.get)`` on
anyio's own worker threads): the worker's stack then holds the library alone, and
a connection it makes looks like the library's own (a poller, a metrics thread). The app's
module that handed the work over is on the submitting thread's stack, and only at submission:
the submitting coroutine is suspended (its frame unlinked) by the time the worker connects, and
asyncio copies the caller's context before it reaches the executor. So while a
:class:`HandoffWatch` runs, each ``ThreadPoolExecutor.submit`` and ``anyio.to_thread.run_sync``
names the submitting code (as ``origin_of`` finds it) and the worker thread knows that name
while it runs that work (:func:`handed_from`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import importlib
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

__all__ = ["HandoffWatch", "handed_from"]

#: The module that handed the calling worker thread its current work ("" when none did).
_HANDED = threading.local()


def handed_from() -> str:
    """The app's module that handed the calling thread the work it runs (``asyncio.to_thread``,
    ``run_in_executor``, ``ThreadPoolExecutor.submit``), or ``""``: not a pool's worker, no
    code of the app's submitted it (a library's own pool), or the thread runs an event loop."""
    if asyncio.events._get_running_loop() is not None:
        # Handed a whole loop (older anyio's blocking portal, a test's own asyncio.run): its
        # tasks, a library's own among them, are no call of the code that submitted it.
        return ""
    return str(getattr(_HANDED, "origin", ""))


def _run_handed(origin: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
    previous = getattr(_HANDED, "origin", "")
    _HANDED.origin = origin
    try:
        return fn(*args, **kwargs)
    finally:
        _HANDED.origin = previous  # a worker thread serves the next submission afterwards


class HandoffWatch:
    """While started, work submitted to a ``ThreadPoolExecutor`` (asyncio's default executor
    among them) carries the submitting code's module to the worker thread that runs it.

    ``origin_of`` names the code at a frame: the first of the app's own further out, or
    ``""``. It is called at each submission, so it walks no further than it must. Watches
    nest (each restores what it replaced); stop them in reverse order."""

    def __init__(self, origin_of: Callable[[FrameType], str]) -> None:
        self._origin_of = origin_of
        self._saved: Callable[..., Any] | None = None
        self._wrapper: Callable[..., Any] | None = None
        #: anyio's ``to_thread`` module, its ``run_sync`` and ours, while ours is in place.
        self._anyio: tuple[Any, Callable[..., Any], Callable[..., Any]] | None = None
        self._active = [False]

    def start(self) -> HandoffWatch:
        if self._saved is not None:
            raise RuntimeError("HandoffWatch is already started")
        submit = concurrent.futures.ThreadPoolExecutor.submit
        origin_of = self._origin_of
        active = self._active = [True]

        def handing_submit(
            executor: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any
        ) -> Any:
            origin = origin_of(sys._getframe(1)) if active[0] else ""
            if origin:  # else nothing of the app's submitted it: the work runs as it came
                fn = functools.partial(_run_handed, origin, fn)
            return submit(executor, fn, *args, **kwargs)

        self._saved = submit
        self._wrapper = handing_submit
        concurrent.futures.ThreadPoolExecutor.submit = handing_submit  # type: ignore[method-assign]
        self._anyio = _watch_anyio(origin_of, active)
        return self

    def stop(self) -> None:
        saved, self._saved = self._saved, None
        if saved is None:
            return
        self._active[0] = False
        anyio, self._anyio = self._anyio, None
        if anyio is not None and anyio[0].run_sync is anyio[2]:
            anyio[0].run_sync = anyio[1]  # else wrapped since: ours stays, passing through
        if concurrent.futures.ThreadPoolExecutor.submit is self._wrapper:
            concurrent.futures.ThreadPoolExecutor.submit = saved  # type: ignore[method-assign]
        # Else wrapped since (Sentry's threading integration patches it once, at its init):
        # taking ours out would take that out too, for good; ours stays, passing through.


def _watch_anyio(
    origin_of: Callable[[FrameType], str], active: list[bool]
) -> tuple[Any, Callable[..., Any], Callable[..., Any]] | None:
    """``anyio.to_thread.run_sync`` (Starlette's ``run_in_threadpool``) naming its caller to
    the worker thread, as ``submit`` does: anyio runs the work on threads of its own. Only when
    anyio is loaded (pytest's anyio plugin loads it); callers look ``run_sync`` up on the module
    at each call (Starlette, FastAPI), so the one attribute covers anyio 3 and 4."""
    if "anyio" not in sys.modules:
        return None
    try:
        module: Any = importlib.import_module("anyio.to_thread")
    except ImportError:
        return None
    original: Callable[..., Any] | None = getattr(module, "run_sync", None)
    if original is None:
        return None

    async def handing_run_sync(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        # A running coroutine's caller frame is the coroutine awaiting it: the submitter's.
        origin = origin_of(sys._getframe(1)) if active[0] else ""
        if origin:
            func = functools.partial(_run_handed, origin, func)
        return await original(func, *args, **kwargs)

    functools.update_wrapper(handing_run_sync, original)
    module.run_sync = handing_run_sync
    return module, original, handing_run_sync
