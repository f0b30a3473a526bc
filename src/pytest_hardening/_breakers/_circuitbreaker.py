"""Adapter for the ``circuitbreaker`` package (fabfuel), which has no listener API."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

from ._base import BreakerState, CallbackGuard, TransitionListener

__all__ = ["CircuitbreakerAdapter"]

# The methods through which every outcome of a guarded call passes: a failure is counted in
# the (name-mangled) ``__call_failed``, a success calls ``reset`` (2.1 on) or ``__call_succeeded``
# (2.0). They are looked up on the instance, so an instance attribute can watch them without
# touching the class; a name the installed version lacks is skipped.
_WATCHED = ("_CircuitBreaker__call_failed", "reset", "_CircuitBreaker__call_succeeded")
_MISSING = object()


class CircuitbreakerAdapter:
    """Adapter for ``circuitbreaker.CircuitBreaker`` (states ``closed``/``open``/``half_open``).

    The package has no listener API. Transitions are detected by observation: the breaker's own
    failure and success handlers are watched on the instance (state before and after each), and
    the inspector reads the state on each of its calls. OPEN -> HALF_OPEN happens lazily in this
    package (a state read after the recovery timeout), so it is recorded when next observed.
    Its timeout reads ``circuitbreaker.monotonic``, which the clock moves.
    """

    def __init__(self, breaker: Any) -> None:
        self.breaker = breaker
        self._guard = CallbackGuard(f"{type(self).__name__} watcher")
        self.errors = self._guard.errors

    def state(self) -> BreakerState:
        return BreakerState.parse(self.breaker.state)

    def force_open(self) -> None:
        # No public "open" in the package: set what its failure handler sets.
        module = sys.modules.get("circuitbreaker")
        monotonic = getattr(module, "monotonic", None)
        self.breaker._state = getattr(module, "STATE_OPEN", "open")
        if monotonic is not None:
            self.breaker._opened = monotonic()

    def reset(self) -> None:
        reset = getattr(self.breaker, "reset", None)
        if callable(reset):
            reset()
            return
        # 2.0 has no reset(): set what its success handler sets.
        self.breaker._state = getattr(sys.modules.get("circuitbreaker"), "STATE_CLOSED", "closed")
        self.breaker._last_failure = None
        self.breaker._failure_count = 0

    def subscribe(self, listener: TransitionListener) -> Callable[[], None]:
        undo = [self._watch(name, listener) for name in _WATCHED]

        def unsubscribe() -> None:
            for restore in undo:
                restore()

        return unsubscribe

    def _watch(self, name: str, listener: TransitionListener) -> Callable[[], None]:
        breaker = self.breaker
        original = getattr(breaker, name, None)
        if not callable(original):
            return lambda: None
        previous = breaker.__dict__.get(name, _MISSING)
        guard = self._guard

        @functools.wraps(original)
        def watched(*args: Any, **kwargs: Any) -> Any:
            before: list[Any] = []
            guard.run(lambda: before.append(breaker.state))
            try:
                return original(*args, **kwargs)
            finally:
                if before:
                    guard.run(_emit, listener, before[0], breaker)

        breaker.__dict__[name] = watched

        def restore() -> None:
            if breaker.__dict__.get(name) is watched:
                if previous is _MISSING:
                    del breaker.__dict__[name]
                else:
                    breaker.__dict__[name] = previous

        return restore

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.breaker!r})"


def _emit(listener: TransitionListener, before: Any, breaker: Any) -> None:
    after = breaker.state
    if BreakerState.parse(before) != BreakerState.parse(after):
        listener(before, after)
