"""SweepRecord: re-point what the last full sweep found, without another pass over the heap.

The first :meth:`~._clock.Clock.advance` of a clock looks for every object that stored a real
time function with ``gc.get_referrers``: a pass over the whole heap, 25-50 ms once the AI SDKs
are loaded, paid again by every test that moves time. Between two tests of a session that keeps
its app, what holds a real time function rarely changes. A record keeps, weakly, every holder
and owner the last full sweep handled (re-pointed or left alone) with how many references to
the real functions each held, and how many references each real function had once the holders
were re-pointed. The next clock trusts it only when all of that still holds:

- every recorded holder is alive and holds as many real functions as it did;
- re-pointing them again re-points exactly what the full sweep re-pointed;
- then each real function has exactly as many references as after the full sweep.

A holder made since adds a reference; one that let go, or died, fails the first check. Counted
references that no holder accounts for are only those of modules and of the clock's own
bookkeeping (a sweep that met any other referrer, such as a list or a frame, is not recorded):
for a new holder to hide, one of those would have to drop a reference at the same moment. When
anything differs the clock undoes the replay and sweeps the heap as before.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from ._clock_places import held

__all__ = ["SweepRecord", "reference_counts"]


class Holders(Protocol):
    """What a record needs of a sweep (:class:`~._clock_holders.RealClockHolders`)."""

    patched: list[str]
    problems: list[str]
    sources: list[tuple[str, Any]]
    complete: bool

    def replay(self, sources: Iterable[tuple[str, Any]], replace: Callable[[Any], Any]) -> None:
        """Re-point what ``sources`` hold."""

    def undo(self) -> None:
        """Restore what was re-pointed."""


H = TypeVar("H", bound=Holders)


def reference_counts(reals: Sequence[Any]) -> tuple[int, ...]:
    """How many references each real time function has (called at one fixed point)."""
    return tuple(sys.getrefcount(real) for real in reals)


class SweepRecord:
    """One full sweep's holders (weakly), what it re-pointed, and the reference counts."""

    def __init__(
        self,
        ignore: tuple[str, ...],
        holders: Holders,
        reals: Sequence[Any],
        fakes: Sequence[Any],
        counts: tuple[int, ...],
    ) -> None:
        # Held counts: the re-pointed places now hold this clock's replacements.
        ids = {id(f) for f in (*reals, *fakes)}
        self.ignore = ignore
        self.patched = list(holders.patched)
        self.counts = counts
        self._sources = [
            (kind, _ref(source), held(source, ids)) for kind, source in holders.sources
        ]

    @classmethod
    def of(
        cls,
        ignore: tuple[str, ...],
        holders: Holders,
        reals: Sequence[Any],
        fakes: Sequence[Any],
        counts: tuple[int, ...],
    ) -> SweepRecord | None:
        """A record of a full sweep, or None when it cannot be trusted later (a referrer not
        accounted for, a holder that cannot be re-pointed)."""
        if not holders.complete or holders.problems:
            return None
        return cls(ignore, holders, reals, fakes, counts)

    def replay(self, holders: H, reals: Sequence[Any], replace: Callable[[Any], Any]) -> H | None:
        """``holders`` with the recorded holders re-pointed when nothing changed, else None
        (and ``holders`` undone): the caller then sweeps the heap."""
        ids = {id(real) for real in reals}
        sources = []
        for kind, ref, count in self._sources:
            source = ref()
            if source is None or held(source, ids) != count:
                return None
            sources.append((kind, source))
        holders.replay(sources, replace)
        del sources
        if holders.problems or holders.patched != self.patched:
            holders.undo()
            return None
        return holders


def _ref(source: Any) -> Callable[[], Any]:
    try:
        return weakref.ref(source)
    except TypeError:  # __slots__ without __weakref__ (a dataclass Field): kept alive until
        return lambda: source  # the next full sweep, so it cannot go away unseen
