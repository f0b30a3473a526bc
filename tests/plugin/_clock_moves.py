"""How far a stored clock moved across one ``clock.advance``: shared by the clock-cache tests."""

from __future__ import annotations

from collections.abc import Callable

from pytest_hardening import Clock


def moves(clock: Clock, read: Callable[[], float]) -> float:
    """How far ``read`` moved across ``clock.advance(10)``, to the half second. A holder
    re-pointed at the first advance reads real time before it, and its timeline goes on from
    the real value when the advance began: microseconds later, or milliseconds on a busy
    machine. A restarted or jumping timeline is still seen."""
    before = read()
    clock.advance(10)
    return round((read() - before) * 2) / 2
