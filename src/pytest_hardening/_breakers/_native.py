"""Adapters for hand-written breakers: the native protocol, and a bare ``state`` attribute."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._at_once import InAppLoop, call_at_once
from ._base import BreakerState, CallbackGuard, TransitionListener

__all__ = ["NativeBreaker", "ObservedBreaker"]


class ObservedBreaker:
    """Adapter for a breaker with a ``state`` attribute or property, ``force_open()`` and
    ``reset()``, and no listener API: transitions are recorded by observation (the inspector
    reads the state on each of its calls and around ``force_open``/``reset``).

    An ``async def`` ``force_open()`` or ``reset()`` runs as :class:`~._at_once.AtOnce` runs
    it: in the app's loop (``in_app_loop``), else to its end at once."""

    def __init__(self, breaker: Any, in_app_loop: InAppLoop | None = None) -> None:
        self.breaker = breaker
        self._in_app_loop = in_app_loop

    def state(self) -> BreakerState:
        return BreakerState.parse(self.breaker.state)

    def force_open(self) -> None:
        force_open = getattr(self.breaker, "force_open", None)
        if not callable(force_open):
            raise TypeError(
                f"{type(self.breaker).__qualname__} has no force_open(): breakers can read its "
                "state and reset it, not open it by hand. Open it as the app would (faults "
                "on its provider until it trips), or give it a force_open() method."
            )
        call_at_once(force_open, "force_open()", self._in_app_loop)

    def reset(self) -> None:
        call_at_once(self.breaker.reset, "reset()", self._in_app_loop)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.breaker!r})"


class NativeBreaker(ObservedBreaker):
    """Adapter for breakers with the project's protocol (``reference_app.resilience``):
    ``state``, ``force_open()``, ``reset()`` and ``add_listener(callback) -> unsubscribe``,
    the callback receiving a transition with ``from_state`` and ``to_state``."""

    def __init__(self, breaker: Any, in_app_loop: InAppLoop | None = None) -> None:
        super().__init__(breaker, in_app_loop)
        self._guard = CallbackGuard(f"listener on {type(breaker).__name__}")
        self.errors = self._guard.errors

    def subscribe(self, listener: TransitionListener) -> Callable[[], None]:
        def forward(transition: Any) -> None:
            listener(transition.from_state, transition.to_state)

        def on_transition(transition: Any) -> None:
            self._guard.run(forward, transition)

        unsubscribe: Callable[[], None] = self.breaker.add_listener(on_transition)
        return unsubscribe
