"""Frozen ``time.monotonic``/``perf_counter`` that continue the real timeline instead of jumping.

freezegun derives them from the frozen date, about 1.8e9 seconds today, so starting a clock
moved them decades ahead of the real ones. Whatever an app scheduled on them before the clock
started (a background task's next round, a cache expiry) was then long overdue and ran at once,
racing the test. While an :class:`Anchor` is installed they read the real value they had when it
was made, plus how far the frozen date has moved since.
"""

from __future__ import annotations

import datetime as _dt
import math
from collections.abc import Callable
from typing import Any

import freezegun.api

__all__ = ["Anchor"]

_MICROSECOND = _dt.timedelta(microseconds=1)
#: Readings lie on a grid of 2**-20 s (0.95 µs, finer than the frozen date's microsecond). On
#: it, a reading plus or minus whole seconds is exact in floating point: a deadline an app set
#: at ``now + 60`` is reached by moving the clock exactly 60 s. With decimal fractions of a
#: second (``2.2375``) it was missed by one rounding step about one time in 200.
_GRID = 1 << 20


class Anchor:
    """The real monotonic time at one frozen instant (``frozen_at``, freezegun's naive UTC
    form; default: the current freeze's). :meth:`install` makes freezegun's monotonic
    functions (``monotonic``, ``perf_counter`` and their ``_ns`` forms) read from it while the
    clock's freeze is the innermost; :meth:`remove` puts freezegun's own back.

    Installed before the clock's freeze starts, it is read from the first instant freezegun's
    functions are in place: an event loop running in another thread (a kept app's) read
    freezegun's own date-based value in between, saw decades pass, and ran every timer it had
    (a periodic task's ``asyncio.sleep(60)``) at once."""

    def __init__(self, frozen_at: _dt.datetime | None = None) -> None:
        api: Any = freezegun.api
        self._frozen_at: _dt.datetime = frozen_at or api.get_current_time()
        # The next whole second (as if under a second passed): with the readings' grid below,
        # moving the clock by whole seconds moves them by exactly that (a Retry-After rounded
        # up stays right).
        self._seconds: int = math.ceil(api.real_monotonic())
        self._depth = 0  # how many freezes there were before the clock's own
        self._saved: tuple[Any, Any] | None = None
        self._active = False  # installed and not suspended
        #: Called at each reading it makes (a :class:`~._clock_deadlines.DeadlineWatch`'s).
        self.on_read: Callable[[], None] | None = None

    def install(self) -> None:
        """Before the clock's freeze starts: it is the next one freezegun stacks."""
        api: Any = freezegun.api
        if self._saved is not None:
            self._active = True  # installed all along (see suspend)
            return
        if not hasattr(api, "_get_fake_monotonic_ns"):
            return
        self._active = True
        self._depth = len(api.freeze_factories)
        self._saved = (api._get_fake_monotonic, api._get_fake_monotonic_ns)
        seconds, nanoseconds = (getattr(f, "own", f) for f in self._saved)  # freezegun's

        # freezegun's fakes look these up in their module at each call. A reading begun before
        # the clock's freeze stopped (in the test's thread) and ending after: real time again,
        # not freezegun's date-based value.
        def monotonic() -> float:
            try:
                if self._ours():
                    return self._monotonic()
                return float(seconds() if api.freeze_factories else api.real_monotonic())
            except IndexError:  # the freeze stopped between two of those reads
                return float(api.real_monotonic())

        def monotonic_ns() -> int:
            try:
                if self._ours():
                    return self._monotonic_ns()
                return int(nanoseconds() if api.freeze_factories else api.real_monotonic_ns())
            except IndexError:
                return int(api.real_monotonic_ns())

        api._get_fake_monotonic, api._get_fake_monotonic_ns = monotonic, monotonic_ns

    def suspend(self) -> None:
        """While the clock's freeze pauses: readings are real, but the functions stay in place.
        Putting freezegun's own back (and the anchor's in again at the resume) let a thread
        that began a reading before the pause and ended it in between read freezegun's
        date-based value: decades ahead, then back (a kept app's loop, across a paused
        startup)."""
        self._active = False

    def remove(self) -> None:
        """Takes the anchor out. In freezegun's place go its functions reading real time when
        no freeze is running (not its date-based value): a thread that began a reading before
        the clock stopped ends it after (a kept app's loop, at a test's end), and would have
        seen decades pass, then run every timer it had at once."""
        self._active = False
        saved, self._saved = self._saved, None
        if saved is not None:
            api: Any = freezegun.api
            own = (getattr(f, "own", f) for f in saved)
            api._get_fake_monotonic, api._get_fake_monotonic_ns = _real_when_unfrozen(*own)

    def _ours(self) -> bool:
        # A freeze started inside the clock (a test's own freeze_time) keeps freezegun's values.
        return self._active and len(freezegun.api.freeze_factories) == self._depth + 1

    def _moved(self) -> int:
        """Microseconds the frozen date has moved since the anchor was made."""
        moved: int = (freezegun.api.get_current_time() - self._frozen_at) // _MICROSECOND
        return moved

    def _monotonic(self) -> float:
        if self.on_read is not None:
            self.on_read()
        seconds, microseconds = divmod(self._moved(), 1_000_000)
        return self._seconds + seconds + round(microseconds * _GRID / 1_000_000) / _GRID

    def _monotonic_ns(self) -> int:
        if self.on_read is not None:
            self.on_read()
        return (self._seconds * 1_000_000 + self._moved()) * 1000


def _real_when_unfrozen(
    seconds: Callable[[], float], nanoseconds: Callable[[], int]
) -> tuple[Callable[[], float], Callable[[], int]]:
    """freezegun's ``seconds``/``nanoseconds`` while a freeze runs, real time otherwise (each
    carrying freezegun's as ``own``, so that they never wrap each other)."""
    api: Any = freezegun.api

    def monotonic() -> float:
        try:
            return float(seconds() if api.freeze_factories else api.real_monotonic())
        except IndexError:  # the freeze stopped between two of those reads
            return float(api.real_monotonic())

    def monotonic_ns() -> int:
        try:
            return int(nanoseconds() if api.freeze_factories else api.real_monotonic_ns())
        except IndexError:
            return int(api.real_monotonic_ns())

    monotonic.own = seconds  # type: ignore[attr-defined]
    monotonic_ns.own = nanoseconds  # type: ignore[attr-defined]
    return monotonic, monotonic_ns
