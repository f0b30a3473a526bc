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


def _pending() -> list[tuple[Any, float, str]]:
    """``(handle, seconds away, what set it)`` for each pending deadline of the serving loop:
    the running loop's, or in a sync endpoint's worker thread the loop that handed it the
    request (its list read from this thread: a copy under the GIL); none outside both."""
    loop = asyncio.events._get_running_loop() or serving_loop()
    scheduled = getattr(loop, "_scheduled", None)
    if loop is None or not isinstance(scheduled, list):
        return []
    now = loop.time()
    found = []
    for handle in list(scheduled):
        kind = None if handle.cancelled() else _kind(handle)
        if kind is not None:
            found.append((handle, handle.when() - now, kind))
    return found


class PassedDeadlines:
    """What the clock's moves passed, once per cause and kind of deadline (thread-safe: the
    app's loop moves it while the test reads).

    Moves add up: a deadline first seen ``away`` real seconds ahead, with the clock moved by
    ``moved`` since, has ``away - moved`` left in production (two 0.6 s latencies under a 1 s
    ``wait_for``, a retry's back-off after a slow attempt)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: dict[tuple[str, str], str] = {}
        #: id(handle) -> (handle, the clock's moves when the deadline was first seen)
        self._seen: dict[int, tuple[Any, float]] = {}

    def note(self, seconds: float, moved: float) -> None:
        """Before a move of ``seconds``, the clock having moved ``moved`` in all: keep the
        serving loop's deadlines it passes, counting the moves made since each was seen."""
        pending = _pending()
        if not pending and not self._seen:
            return
        cause = move_cause()
        with self._lock:
            live = {id(handle) for handle, _, _ in pending}
            self._seen = {key: seen for key, seen in self._seen.items() if key in live}
            passed = []
            for handle, away, kind in pending:
                _, first = self._seen.setdefault(id(handle), (handle, moved))
                earlier = moved - first
                if seconds > away - earlier:
                    passed.append((max(away - earlier, 0.0), earlier, kind))
            if passed:
                left, earlier, kind = min(passed)
                self._found.setdefault((cause, kind), _passed(cause, seconds, left, earlier, kind))

    def messages(self) -> list[str]:
        with self._lock:
            return list(self._found.values())


#: What the deadline does in production, by what set it.
_CUTS = "it cuts the call off"
_CONSEQUENCE = {
    "asyncio.wait_for()/wait()": "it cuts the call off (wait_for), or ends the wait with the "
    "call still pending (wait)",
    "asyncio.as_completed()": "it ends the wait with the call still pending",
}


def _passed(cause: str, seconds: float, left: float, earlier: float, kind: str) -> str:
    since = f" (the clock had moved {earlier:g} s since it was set)" if earlier > 0 else ""
    return (
        f"{cause} moved the clock {seconds:g} s, past a deadline of the app's event loop "
        f"({kind}) {left:.1f} s away{since}: in production that deadline comes first and "
        f"{_CONSEQUENCE.get(kind, _CUTS)}, but it runs on the loop's real time, which the "
        "clock does not move, so here it did not fire and the test saw what production never "
        "does. Give the client its own timeout (httpx.Timeout), which the faults honour, keep "
        "what moves the clock under the deadline, or test the cut-off with "
        "pytest_hardening.live (real time)"
    )


def warn_passed_deadlines(messages: Iterable[str], where: tuple[str, int] | None = None) -> None:
    """One :class:`LoopDeadlineWarning` for each of ``messages``, reported at ``where``
    (``(path, line)``: the test's) when given."""
    for message in messages:
        if where is None:
            warnings.warn(LoopDeadlineWarning(message), stacklevel=3)
        else:
            warnings.warn_explicit(LoopDeadlineWarning(message), LoopDeadlineWarning, *where)
