"""Public control and inspection of a breaker: state, history, listeners, force/reset, metrics."""

from __future__ import annotations

import itertools
from collections.abc import Callable

from ._core import _CLOSED, _HALF_OPEN, _OPEN, Listener, _BreakerCore, _count_value
from ._metrics import BreakerMetrics
from ._state import State, Transition

__all__: list[str] = []


class _ManagedBreaker(_BreakerCore):
    __slots__ = ()

    @property
    def state(self) -> State:
        """The current state; an OPEN breaker whose timeout has elapsed reports HALF_OPEN."""
        if self._state is _OPEN:
            with self._lock:
                moved = self._maybe_half_open(self._now())
            self._notify(moved)
        return self._state

    @property
    def transitions(self) -> tuple[Transition, ...]:
        """The last ``history`` transitions, oldest first."""
        with self._lock:
            return tuple(self._transitions)

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(transition)`` after every transition; returns an unsubscribe callable.

        Listeners run outside the breaker's lock, in the thread that caused the transition; an
        exception from a listener is logged and swallowed.
        """
        with self._lock:
            self._listeners = (*self._listeners, listener)

        def unsubscribe() -> None:
            with self._lock:
                items = list(self._listeners)
                if listener in items:
                    items.remove(listener)
                    self._listeners = tuple(items)

        return unsubscribe

    def force_open(self) -> None:
        """Open now (reason ``"forced"``); the usual open timeout then applies."""
        with self._lock:
            now = self._now()
            if self._state is _OPEN:
                self._open_until = now + self.open_timeout
                moved = None
            else:
                moved = self._move(_OPEN, "forced", now)
        self._notify(moved)

    def reset(self, *, clear_history: bool = False) -> None:
        """Back to CLOSED with every count cleared (a ``"reset"`` transition if state changed)."""
        with self._lock:
            moved = None
            if self._state is not _CLOSED:
                moved = self._move(_CLOSED, "reset", self._now())
            else:
                self._consecutive = 0
                if self._policy is not None:
                    self._policy.reset()
            self._failures = 0
            self._successes = itertools.count()
            self._rejections = itertools.count()
            self._ignored = itertools.count()
            self._last_failure_at = None
            self._last_failure_wall = None
            if clear_history:
                self._transitions.clear()
        self._notify(moved)

    def metrics(self) -> BreakerMetrics:
        """A consistent snapshot of state, counts and recent transitions."""
        state = self.state  # applies a due OPEN -> HALF_OPEN first
        with self._lock:
            now = self._now()
            state = self._state
            successes = _count_value(self._successes)
            failures = self._failures
            rejections = _count_value(self._rejections)
            ignored = _count_value(self._ignored)
            next_probe_at: float | None = None
            if state is _OPEN:
                next_probe_at = self._open_until
            elif state is _HALF_OPEN:
                live = [
                    p.deadline for p in self._probes if 0.0 < p.deadline - now <= self.probe_timeout
                ]
                full = len(live) >= self.half_open_max_calls
                next_probe_at = min(live) if full else now
            decided = successes + failures
            return BreakerMetrics(
                name=self.name,
                state=state,
                successes=successes,
                failures=failures,
                rejections=rejections,
                ignored=ignored,
                total_calls=decided + rejections + ignored,
                failure_rate=failures / decided if decided else 0.0,
                consecutive_failures=self._consecutive,
                last_failure_at=self._last_failure_at,
                last_failure_wall=self._last_failure_wall,
                next_probe_at=next_probe_at,
                next_probe_in=None if next_probe_at is None else max(0.0, next_probe_at - now),
                probes_in_flight=len(self._probes),
                transitions=tuple(self._transitions),
            )
