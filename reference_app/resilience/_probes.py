"""HALF_OPEN probe permits: at most ``limit`` at a time, each expiring after ``timeout``."""

from __future__ import annotations

__all__ = ["Probe", "ProbePermits"]


class Probe:
    """One permit; it expires at ``deadline`` if its call never completes."""

    __slots__ = ("deadline",)

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline


class ProbePermits:
    """The permits handed out in one HALF_OPEN period (not thread-safe: the breaker's lock is).

    A probe that never completes must not hold its permit forever: a permit past its deadline,
    or one whose deadline is further away than ``timeout`` (the clock went backwards), is
    reclaimed when a new probe needs it, and its late outcome is then ignored.
    """

    __slots__ = ("_held", "limit", "timeout")

    def __init__(self, limit: int, timeout: float) -> None:
        self.limit = limit
        self.timeout = timeout
        self._held: set[Probe] = set()

    def __len__(self) -> int:
        return len(self._held)

    def acquire(self, now: float) -> Probe | float:
        """A new permit, or the seconds until one may free up."""
        held = self._held
        if len(held) >= self.limit:
            for probe in [p for p in held if not 0.0 < p.deadline - now <= self.timeout]:
                held.discard(probe)
        if len(held) < self.limit:
            probe = Probe(now + self.timeout)
            held.add(probe)
            return probe
        return min(p.deadline for p in held) - now

    def release(self, probe: Probe) -> bool:
        """Give ``probe`` back; ``False`` when it was no longer held (reclaimed, or cleared)."""
        if probe in self._held:
            self._held.discard(probe)
            return True
        return False

    def holds(self, probe: Probe) -> bool:
        return probe in self._held

    def clear(self) -> None:
        self._held.clear()

    def next_free_at(self, now: float) -> float:
        """When a new probe could be admitted: ``now`` if a permit is free, else the earliest
        live deadline."""
        live = [p.deadline for p in self._held if 0.0 < p.deadline - now <= self.timeout]
        return min(live) if len(live) >= self.limit else now
