"""DeadlineWatch: a loop waiting for a deadline on the frozen clock, found and ended.

A library that waits for something until a deadline read from ``time.monotonic`` (pymongo's
server selection, a pool's checkout, a hand-written poll) waits each round in real time and
reads the clock again: while the clock is frozen, the deadline never comes, and the test hangs
in silence. The clock's :class:`~._clock_monotonic.Anchor` hands every frozen reading to
:meth:`DeadlineWatch.read`, which keeps, per thread, the last few frames that read and since
when. A frame (one call of a function: the loop's) that has read the frozen clock for more than
``seconds`` of real time while the clock did not move is such a loop. That reading raises
:class:`FrozenDeadlineError` when the thread serves the test (its own, the app's event loop, a
sync endpoint's worker: see :mod:`._virtual_time`), which ends the wait with an error that
says where and why, and the process's stderr is told at once (pytest's capture holds the
test's own output, and the app may swallow the error). A thread the app or a library runs for
itself (a driver's monitor), and the app's background tasks in a serving loop (a scheduler its
lifespan started, a job that outlived its request: see :func:`._virtual_time.in_background`),
are left to their loops: the test does not wait for them.

The wall clock's readings (``time.time``/``time_ns``, ``datetime.now``/``utcnow``/``today``,
``date.today``) come to :meth:`DeadlineWatch.read_wall` from freezegun's ``get_current_time``
(see :mod:`._freezegun_races`): a busy-wait, ``end = time.time() + 0.005; while time.time() <
end: pass``, spins there for ever. Apps and libraries read it far more often (each log record,
Sentry, httpx): kept apart from the monotonic readings, so that a request's many readings never
push a monotonic loop out of the few frames kept, and left alone in the app's background tasks
(a scheduler's loop asking ``datetime.now`` whether a job is due) as the monotonic readings
are. The clock moved when the instant read changed; a freeze the test starts inside the clock
is its own, its readings not watched.

Only the frame that reads the clock is watched: a loop that reads it through a helper of its
own (``def _now(): return time.monotonic()``) is not found. No thread of its own: a process with
one more thread cannot fork its chaos workers.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any, TextIO

import freezegun.api

from ._virtual_time import ServingThreads, in_background

__all__ = ["DeadlineWatch", "FrozenDeadlineError"]

#: Frames between a reading and the code that made it: freezegun's fakes and the clock's own.
_THROUGH = ("freezegun.", "pytest_hardening._clock")

#: Real seconds a frame may read the still clock before its wait is ended.
SECONDS = 10.0

#: Frames kept per thread: a loop's reading among a few others' of the same rounds.
_KEPT = 4

#: Readings at the least before a wait is ended (a frame that read twice, long apart, is no loop).
_READINGS = 3


class FrozenDeadlineError(RuntimeError):
    """A loop waited for a deadline on the frozen clock, which never comes: raised by its
    reading of the clock to end the wait."""


class DeadlineWatch:
    """Find loops that wait on the frozen clock (see the module). ``moved`` says how far the
    clock has moved (a loop counts only while it does not); ``seconds`` is real seconds."""

    def __init__(
        self,
        moved: Callable[[], float],
        *,
        seconds: float | None = None,
        out: TextIO | None = None,
        found: list[str] | None = None,
        threads: ServingThreads | None = None,
    ) -> None:
        self._moved = moved
        self._seconds = seconds if seconds is not None else SECONDS
        self._out = out
        #: Per thread, the frames that read lately: [real time of the first reading, how far
        #: the clock had moved then, readings]. Held (no other frame takes their id) until
        #: :meth:`stop`, or until newer ones push them out.
        self._frames: dict[int, dict[FrameType, list[Any]]] = {}
        #: The same for the wall clock's readings, the instant read in place of how far.
        self._wall: dict[int, dict[FrameType, list[Any]]] = {}
        self._threads = threads if threads is not None else ServingThreads()
        #: What the watch found and ended, one message each.
        self.found: list[str] = found if found is not None else []

    def read(self, depth: int = 3) -> None:
        """Note a frozen reading of the clock by its caller (and end it when it is a loop's).
        ``depth``: the frames between this call and the reading's (the anchor's reading and
        its hook into freezegun; freezegun's own is skipped by name)."""
        frame = _reader(sys._getframe(depth))
        if frame is not None:
            self._note(self._frames, frame, self._moved(), wall=False)

    def read_wall(self, now: object) -> None:
        """Note a frozen reading of the wall clock, ``now`` the instant read, as freezegun's
        ``get_current_time`` hands it over (see the module); the anchor's monotonic readings
        pass there too, and are left to :meth:`read`."""
        caller: Any = sys._getframe(2)  # this <- get_current_time <- the fake that read
        if caller.f_globals.get("__name__") != "freezegun.api":
            return  # the anchor's reading (noted by read) or the plugin's own
        frame = _reader(caller.f_back)
        if frame is not None:
            self._note(self._wall, frame, now, wall=True)

    def _note(
        self,
        kept: dict[int, dict[FrameType, list[Any]]],
        frame: FrameType,
        moved: object,
        *,
        wall: bool,
    ) -> None:
        """Count a reading of ``frame`` while the clock stands at ``moved``, and raise when it
        has waited too long for a deadline that never comes."""
        ident = threading.get_ident()
        frames = kept.get(ident)
        if frames is None:
            frames = kept[ident] = {}
        now = freezegun.api.real_monotonic()
        seen = frames.get(frame)
        if seen is None or seen[1] != moved:  # a new frame, or the clock moved since
            if seen is None and len(frames) >= _KEPT:
                del frames[next(iter(frames))]  # the oldest
            frames[frame] = [now, moved, 1]
            return
        frames[frame] = frames.pop(frame)  # the latest to read: the last pushed out
        seen[2] += 1
        if seen[2] >= _READINGS and now - seen[0] > self._seconds and self._waited_for():
            del frames[frame]
            raise FrozenDeadlineError(self._say(frame, now - seen[0], wall=wall))

    def _waited_for(self) -> bool:
        """Whether the test waits for the calling thread and task: a scheduler the lifespan
        started polls either clock each round, in the serving loop, and nobody waits for it."""
        return self._threads.serving() and not in_background()

    def stop(self) -> None:
        self._frames.clear()
        self._wall.clear()

    def _say(self, frame: FrameType, waited: float, *, wall: bool) -> str:
        """The message for the loop of ``frame``, kept in :attr:`found` and said on stderr."""
        code = frame.f_code
        where = f"{frame.f_globals.get('__name__', code.co_filename)}:{frame.f_lineno}"
        if wall:
            what = (
                "a deadline it waits for on the wall clock (time.time, datetime.now) never "
                "comes, so the wait was ended here (a busy-wait, `while time.time() < end: "
                "pass`, or a poll until a time, say). Make that call inside `with "
                "clock.paused():` (real time there), or move the clock (clock.advance) from "
                "the test while it waits; an app that only needs time to pass can sleep "
                "(time.sleep) instead of spinning."
            )
        else:
            what = (
                "a deadline it waits for on time.monotonic never comes, so the wait was ended "
                "here (a driver's server selection or a pool's checkout waiting for a "
                "connection the network guard refused, say). Give the test a stand-in for what "
                "it waits for, or move the clock (clock.advance) from the test while it waits."
            )
        message = (
            f"a loop at {where} (in {code.co_name}) read the frozen clock for {waited:.0f} s "
            f"of real time while the clock stood still: {what}"
        )
        self.found.append(message)
        stream = self._out if self._out is not None else sys.__stderr__
        if stream is not None:
            stack = "".join(traceback.format_stack(frame, limit=8)).rstrip()
            stream.write(f"pytest-hardening: {message} Where it waits:\n{stack}\n")
            stream.flush()
        return message


def _reader(frame: Any) -> FrameType | None:
    """The frame that read the clock: the first from ``frame`` up that is neither freezegun's
    nor the clock's own."""
    while frame is not None and str(frame.f_globals.get("__name__")).startswith(_THROUGH):
        frame = frame.f_back
    return frame  # type: ignore[no-any-return]
