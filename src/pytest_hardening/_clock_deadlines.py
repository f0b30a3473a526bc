"""DeadlineWatch: a loop waiting for a deadline on the frozen clock, found and ended.

A library that waits for something until a deadline read from ``time.monotonic`` (pymongo's
server selection, a pool's checkout, a hand-written poll) waits each round in real time and
reads the clock again: while the clock is frozen, the deadline never comes, and the test hangs
in silence. The watch samples every thread each ``interval`` seconds of real time. A frame that
stayed on its thread's stack and read the frozen clock during two whole intervals (and the one
before), while the
clock did not move, is such a loop: its next reading raises :class:`FrozenDeadlineError` when
the thread serves the test (its own, the app's event loop, a sync endpoint's worker: see
:mod:`._virtual_time`), which ends the wait with an error that says where and why, and the
process's stderr is told at once (pytest's capture holds the test's own output, and the app may
swallow the error). A thread the app or a library runs for itself (a driver's monitor) is left
to its loop: the test does not wait for it.

Only the frame that reads the clock is watched: a loop that reads it through a helper of its
own (``def _now(): return time.monotonic()``) is not found, nor one on ``time.time``.

Readings are counted by the clock's :class:`~._clock_monotonic.Anchor`, which calls
:meth:`DeadlineWatch.read` at each frozen reading: a set insertion per reading, the sampling
in a thread of its own.
"""

from __future__ import annotations

import sys
import threading
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any, TextIO

from ._virtual_time import ServingThreads

__all__ = ["DeadlineWatch", "FrozenDeadlineError"]

#: Frames between a reading and the code that made it: freezegun's fakes and the clock's own.
_THROUGH = ("freezegun.", "pytest_hardening._clock")

#: Real seconds between samples: a loop is ended after two to three of them.
INTERVAL = 5.0


class FrozenDeadlineError(RuntimeError):
    """A loop waited for a deadline on the frozen clock, which never comes: raised by its
    reading of the clock to end the wait."""


class DeadlineWatch:
    """Find loops that wait on the frozen clock (see the module). ``moved`` says how far the
    clock has moved (a loop counts only while it does not); ``interval`` is real seconds."""

    def __init__(
        self,
        moved: Callable[[], float],
        *,
        interval: float | None = None,
        out: TextIO | None = None,
        found: list[str] | None = None,
        threads: ServingThreads | None = None,
    ) -> None:
        self._moved = moved
        self._interval = interval if interval is not None else INTERVAL
        self._out = out
        #: Per thread, the ids of the frames that read the clock since the last sample.
        self._sites: dict[int, set[int]] = {}
        #: Per thread, the frame to end at its next reading.
        self._ending: dict[int, FrameType] = {}
        self._threads = threads if threads is not None else ServingThreads()
        #: What the watch found and ended, one message each.
        self.found: list[str] = found if found is not None else []
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def read(self, depth: int = 3) -> None:
        """Note a frozen reading of the clock by its caller (and end it when it is a loop's).
        ``depth``: the frames between this call and the reading's (the anchor's reading and
        its hook into freezegun; freezegun's own is skipped by name): a reading costs a third
        more with the watch, not half as much again."""
        ident = threading.get_ident()
        frame: Any = sys._getframe(depth)
        while frame is not None and str(frame.f_globals.get("__name__")).startswith(_THROUGH):
            frame = frame.f_back
        if frame is None:
            return
        sites = self._sites.get(ident)
        if sites is None:
            sites = self._sites[ident] = set()
        sites.add(id(frame))
        if self._ending:
            ending = self._ending.get(ident)
            if ending is not None and ending is frame:
                del self._ending[ident]
                # A thread the test does not wait for (a driver's monitor) hangs nothing.
                if self._threads.serving():
                    raise FrozenDeadlineError(self._say(frame))

    def start(self) -> DeadlineWatch:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="pytest-hardening deadline watch", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._ending.clear()
        self._sites.clear()

    def _run(self) -> None:
        # Per thread: the frames on its stack that read the clock in the last interval, held
        # (so that no other frame takes their id) with how many intervals they have done so.
        held: dict[int, dict[FrameType, int]] = {}
        moved = self._moved()
        while not self._stopped.wait(self._interval):
            now = self._moved()
            sites, self._sites = self._sites, {}
            if now != moved:  # the clock moved: whatever waited may be past its deadline
                moved, held = now, {}
                continue
            stacks = sys._current_frames()
            next_held: dict[int, dict[FrameType, int]] = {}
            for ident, top in stacks.items():
                read = sites.get(ident, set())
                before = held.get(ident, {})
                frames = {}
                for frame in _stack(top):
                    if id(frame) in read:
                        frames[frame] = before.get(frame, 0) + 1
                        # Three samples: an id read in the first interval may have been a
                        # frame since gone (its id reused); held since, it is this one's.
                        if frames[frame] >= 3 and ident not in self._ending:
                            self._ending[ident] = frame
                if frames:
                    next_held[ident] = frames
            held = next_held
            del stacks

    def _say(self, frame: FrameType) -> str:
        """The message for the loop of ``frame``, kept in :attr:`found` and said on stderr."""
        code = frame.f_code
        where = f"{frame.f_globals.get('__name__', code.co_filename)}:{frame.f_lineno}"
        waited = self._interval * 2
        message = (
            f"a loop at {where} (in {code.co_name}) read the frozen clock for over {waited:g} s "
            "of real time while the clock stood still: a deadline it waits for on "
            "time.monotonic never comes, so the wait was ended here (a driver's server "
            "selection or a pool's checkout waiting for a connection the network guard "
            "refused, say). Give the test a stand-in for what it waits for, or move the clock "
            "(clock.advance) from the test while it waits."
        )
        self.found.append(message)
        stream = self._out if self._out is not None else sys.__stderr__
        if stream is not None:
            stack = "".join(traceback.format_stack(frame, limit=8)).rstrip()
            stream.write(f"pytest-hardening: {message} Where it waits:\n{stack}\n")
            stream.flush()
        return message


def _stack(top: FrameType | None) -> list[FrameType]:
    frames = []
    while top is not None:
        frames.append(top)
        top = top.f_back
    return frames
