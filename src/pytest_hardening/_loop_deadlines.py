"""The event loop's deadlines that a fault's virtual wait passes without firing them.

A ``latency`` or ``timeout`` fault moves the clock instead of waiting, but asyncio's deadlines
(``asyncio.timeout``, ``asyncio.wait_for``, anyio's ``fail_after``) are timers of the event loop,
on its real time, which the clock does not move: a request-timeout middleware's
``asyncio.wait_for(call_next(request), 20)`` never fires for a 25 s latency, and the test sees an
answer production never gives. Before the clock moves, :func:`deadlines_within` reads the running
loop's pending timers for such deadlines (``loop._scheduled``: asyncio's own list, read only; a
loop without it is not read) and :func:`passed_deadline` says what happened and what to do.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Iterable
from typing import Any

__all__ = ["LoopDeadlineWarning", "deadlines_within", "passed_deadline", "warn_passed_deadlines"]


class LoopDeadlineWarning(UserWarning):
    """A fault moved the clock past a deadline of the app's event loop, which did not fire."""


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
    """``(seconds away, what set it)`` for the running loop's pending deadlines that come
    within ``seconds`` of its time, nearest first; none outside a running loop."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
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


def passed_deadline(fault: str, seconds: float, deadlines: list[tuple[float, str]]) -> str:
    """What a fault that moved the clock ``seconds`` past ``deadlines`` tells the user."""
    away, kind = deadlines[0]
    return (
        f"a {fault} fault moved the clock {seconds:g} s, past a deadline the app's event loop "
        f"had set {away:.1f} s ahead ({kind}): in production that deadline comes first and "
        "cuts the call off, but it runs on the loop's real time, which the clock does not "
        "move, so here it did not fire and the test saw an answer production never gives. "
        "Give the client its own timeout (httpx.Timeout), which the faults honour, keep the "
        "fault's seconds under the deadline, or test the cut-off with pytest_hardening.live "
        "(real time)"
    )


def warn_passed_deadlines(messages: Iterable[str]) -> None:
    """One :class:`LoopDeadlineWarning` for each of ``messages``."""
    for message in messages:
        warnings.warn(LoopDeadlineWarning(message), stacklevel=3)
