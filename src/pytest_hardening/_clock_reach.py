"""StoredClocks: the objects that stored a real time function before a clock started (a
breaker built with ``clock=time.monotonic``), found and re-pointed at the clock's time when it
first moves, and put back when it stops.

Found by a session's record when nothing changed since the last full search (see
:mod:`._clock_replay`), else by a search of the heap (:class:`~._clock_holders.RealClockHolders`).
Each re-pointed function continues its real value from the moment the search began, then moves
only with the clock: the search itself, slow on a loaded machine, is no time passing.
"""

from __future__ import annotations

import datetime as _dt
import gc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import freezegun.api

from ._clock_cache import SCAN_TYPES
from ._clock_holders import RealClockHolders, real_time_functions
from ._clock_replay import SweepRecord, reference_counts

if TYPE_CHECKING:
    from ._clock_cache import ClockCache

__all__ = ["StoredClocks"]

Replace = Callable[[Callable[[], Any]], Callable[[], Any]]


class StoredClocks:
    """The holders of real time functions for one run of a clock (``freezer`` and its time
    ``factory``), re-pointed on :meth:`holders`' first call; :meth:`undo` puts them back.
    ``advanced()`` is how far the clock was moved before this run (a pause restarted it)."""

    def __init__(
        self,
        freezer: Any,
        factory: Any,
        *,
        ignore: tuple[str, ...],
        cache: ClockCache | None,
        advanced: Callable[[], float],
    ) -> None:
        self._freezer, self._factory = freezer, factory
        self._ignore, self._cache, self._advanced = ignore, cache, advanced
        self._found: RealClockHolders | None = None
        self._origin: tuple[float, Any] = (0.0, None)  # when the search for holders began

    def holders(self) -> RealClockHolders:
        if self._found is None:
            # Stored clocks continue from their value when time first moves: the search for
            # them (a heap pass, slow on a loaded machine) must not count as time passing.
            self._origin = (freezegun.api.real_perf_counter(), self._factory())
            made: dict[int, Callable[[], Any]] = {}

            def replace(real: Callable[[], Any]) -> Callable[[], Any]:
                # One replacement per function, made at the first sweep: a second sweep (after
                # the collection below, which may take a while) must not restart the timeline.
                fake = made.get(id(real))
                if fake is None:
                    fake = made[id(real)] = self._continuation(real)
                return fake

            self._found = self._replay(replace) or self._sweep_all(replace, made)
        return self._found

    def undo(self) -> None:
        found, self._found = self._found, None
        if found is not None:
            found.undo()

    def _replay(self, replace: Replace) -> RealClockHolders | None:
        """The holders the last full sweep of the session found, re-pointed again, when
        nothing changed since (see :mod:`._clock_replay`); else None."""
        record = self._cache.sweep if self._cache is not None else None
        if record is None or record.ignore != self._ignore:
            return None
        reals = real_time_functions()
        holders = record.replay(self._new_holders(), reals, replace)
        if holders is not None and reference_counts(reals) != record.counts:
            holders.undo()  # a reference no recorded holder accounts for: look for it
            return None
        return holders

    def _sweep_all(self, replace: Replace, made: dict[int, Any]) -> RealClockHolders:
        if self._cache is not None:
            # The record keeps alive the holders it cannot reference weakly (a NamedTuple): an
            # earlier test's, left alone under another ``ignore``, must not be found here.
            self._cache.sweep = None
        holders = self._sweep(replace)
        if holders.problems:  # maybe garbage not yet collected: look again
            holders.undo()
            del holders  # it lists what it found: that must not keep the garbage alive
            gc.collect()
            holders = self._sweep(replace)
        if self._cache is not None:
            reals, fakes = real_time_functions(), list(made.values())
            counts = reference_counts(reals)
            self._cache.sweep = SweepRecord.of(self._ignore, holders, reals, fakes, counts)
        return holders

    def _new_holders(self) -> RealClockHolders:
        known = self._cache.owners if self._cache is not None else None
        return RealClockHolders(ignore=self._ignore, known=known)

    def _sweep(self, replace: Replace) -> RealClockHolders:
        return self._new_holders().sweep(self._freezer, replace, skip_types=SCAN_TYPES)

    def _continuation(self, real: Callable[[], Any]) -> Callable[[], Any]:
        """``real`` from now on: its value when time first moved (plus what the clock was
        moved before a pause), then moved only by the clock (not by the real time the search
        for its holders took)."""
        factory = self._factory
        real_origin, frozen_at = self._origin
        # What the clock was already moved (before a pause restarted it) is carried over: a
        # stored clock never goes back by it.
        since_start = freezegun.api.real_perf_counter() - real_origin - self._advanced()
        now = real()
        base = now - int(since_start * 1e9) if isinstance(now, int) else now - since_start
        if isinstance(base, int):  # the *_ns functions

            def moved_ns() -> int:
                return base + int((factory() - frozen_at) / _dt.timedelta(microseconds=1)) * 1000

            moved: Callable[[], Any] = moved_ns
        else:

            def moved_s() -> float:
                return float(base + (factory() - frozen_at).total_seconds())

            moved = moved_s
        moved.__qualname__ = f"Clock-moved time.{real.__name__}"
        return moved
