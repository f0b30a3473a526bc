"""Track: one named breaker as the inspector follows it, and the transitions it has logged.

A change reaches the track two ways: the breaker's own listener reports it, or the inspector
sees a new state when it reads one (a look). Both can report the same change, and either can
miss a step (a state left and come back between two looks); the track merges them into the
moves the breaker made, each logged once. The inspector holds its lock around these methods.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._base import BreakerAdapter, BreakerState, unreadable

__all__ = ["Track"]


@dataclass
class Track:
    source: Any
    adapter: BreakerAdapter
    #: When a transition is logged (a clock's time; None without one).
    now: Callable[[], float | None] | None = None
    log: list[tuple[str, str]] = field(default_factory=list)
    #: When each entry of ``log`` was logged (the inspector's ``now``; None without one).
    times: list[float | None] = field(default_factory=list)
    last: BreakerState | None = None
    unsubscribe: Callable[[], None] | None = None
    #: The latest logged transition, when a look (not a listener) logged it: a listener's
    #: report of that change arriving after the look is the same change, not a new one.
    observed: tuple[BreakerState, BreakerState] | None = None

    def read(self, name: str, *, reset: bool = False) -> BreakerState:
        """The breaker's state, after closing it (``reset``); its store's error says so."""
        try:
            if reset:
                self.adapter.reset()
            return BreakerState.parse(self.adapter.state())
        except Exception as exc:
            raise unreadable(name, self.source, "close" if reset else "read", exc) from exc

    def record(self, from_state: BreakerState, to_state: BreakerState) -> None:
        """A transition the breaker's listener reported."""
        observed, self.observed = self.observed, None
        if to_state == self.last:
            if from_state == to_state or observed == (from_state, to_state):
                return  # no change, or the change a look already logged
            # Left the state last seen and came back unseen: circuitbreaker reports
            # HALF_OPEN on reading once its timeout has passed, and a failed probe reports
            # HALF_OPEN -> OPEN while the last look saw OPEN.
            self._log((to_state.value, from_state.value))
            self._log((from_state.value, to_state.value))
            return
        if self.last is not None and from_state != self.last:
            self._log((self.last.value, from_state.value))  # seen in between
        if from_state != to_state:
            self._log((from_state.value, to_state.value))
        self.last = to_state

    def see(self, state: BreakerState) -> None:
        """The state a look read: a change since the last one is logged as a transition."""
        if self.last is not None and state != self.last:
            self._log((self.last.value, state.value))
            self.observed = (self.last, state)
        self.last = state

    def forget(self, state: BreakerState) -> None:
        """Start over from ``state`` (the breaker was just closed), with no transitions."""
        self.log.clear()
        self.times.clear()
        self.last = state
        self.observed = None

    def _log(self, change: tuple[str, str]) -> None:
        self.log.append(change)
        self.times.append(self.now() if self.now is not None else None)
