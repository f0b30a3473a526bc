"""The event loop's deadlines that a move of the clock passes without firing them.

A ``latency`` or ``timeout`` fault, and virtual back-off, move the clock instead of waiting,
but asyncio's deadlines (``asyncio.timeout``, ``asyncio.wait_for``, anyio's ``fail_after``) are
timers of the event loop, on its real time, which the clock does not move: a request-timeout
middleware's ``asyncio.wait_for(call_next(request), 20)`` never fires for a 25 s latency, and
the test sees an answer production never gives. Before each move made inside a running loop
(or in a sync endpoint's worker thread, for the loop serving its request),
:class:`PassedDeadlines` reads the loop's pending timers for such deadlines (``loop._scheduled``:
asyncio's own list, read only; a loop without it is not read) and keeps what happened and what
to do, under the cause :func:`._virtual_time.moving_for` names (``clock.advance()`` when none does).
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import Iterable
from typing import Any

from ._virtual_time import move_cause, serving_loop

__all__ = ["LoopDeadlineWarning", "PassedDeadlines", "warn_passed_deadlines"]


class LoopDeadlineWarning(UserWarning):
    """The clock moved past a deadline of the app's event loop, which did not fire."""


#: (module, qualified name) of the callbacks that end a wait at a deadline, with what set it.
_DEADLINES = {
    ("asyncio.timeouts", "Timeout._on_timeout"): "asyncio.timeout()/wait_for()",
    ("asyncio.tasks", "_release_waiter"): "asyncio.wait_for()/wait()",  # Python 3.11's
    ("asyncio.tasks", "as_completed.<locals>._on_timeout"): "asyncio.as_completed()",
    ("anyio._backends._asyncio", "CancelScope._timeout"): "anyio fail_after()/move_on_after()",
    ("async_timeout", "Timeout._on_timeout"): "async_timeout.timeout()",
}


def _kind(handle: Any) -> str | None:
    callback = getattr(handle, "_callback", None)
    function = getattr(callback, "__func__", callback)
    key = (getattr(function, "__module__", None), getattr(function, "__qualname__", None))
    return _DEADLINES.get(key)  # type: ignore[arg-type]


def deadlines_within(seconds: float) -> list[tuple[float, str]]:
    """``(seconds away, what set it)`` for the pending deadlines that come within ``seconds``
    of the serving loop's time, nearest first: the running loop's, or in a sync endpoint's
    worker thread the loop that handed it the request (its list read from this thread: a copy
    under the GIL); none outside both."""
    loop = asyncio.events._get_running_loop() or serving_loop()
    if loop is None:
        return []
    scheduled = getattr(loop, "_scheduled", None)
    if not isinstance(scheduled, list):
        return []
    now = loop.time()
    found = []
    for handle in list(scheduled):
        if handle.cancelled():
            continue
        away = handle.when() - now
        kind = _kind(handle) if away < seconds else None
        if kind is not None:
            found.append((max(away, 0.0), kind))
    return sorted(found)


class PassedDeadlines:
    """What the clock's moves passed, once per cause and kind of deadline (thread-safe: the
    app's loop moves it while the test reads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: dict[tuple[str, str], str] = {}

    def note(self, seconds: float) -> None:
        """Before a move of ``seconds``: keep the running loop's deadlines it passes."""
        deadlines = deadlines_within(seconds)
        if not deadlines:
            return
        away, kind = deadlines[0]
        cause = move_cause()
        with self._lock:
            self._found.setdefault((cause, kind), _passed(cause, seconds, away, kind))

    def messages(self) -> list[str]:
        with self._lock:
            return list(self._found.values())


def _passed(cause: str, seconds: float, away: float, kind: str) -> str:
    return (
        f"{cause} moved the clock {seconds:g} s, past a deadline the app's event loop had set "
        f"{away:.1f} s ahead ({kind}): in production that deadline comes first and cuts the "
        "call off, but it runs on the loop's real time, which the clock does not move, so "
        "here it did not fire and the test saw an answer production never gives. Give the "
        "client its own timeout (httpx.Timeout), which the faults honour, keep what moves the "
        "clock under the deadline, or test the cut-off with pytest_hardening.live (real time)"
    )


def warn_passed_deadlines(messages: Iterable[str]) -> None:
    """One :class:`LoopDeadlineWarning` for each of ``messages``."""
    for message in messages:
        warnings.warn(LoopDeadlineWarning(message), stacklevel=3)
