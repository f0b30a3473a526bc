"""Adapters for pybreaker and aiobreaker, which share one listener API."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ._base import BreakerState, CallbackGuard, TransitionListener

__all__ = ["AioBreakerAdapter", "PyBreakerAdapter"]


class _StateChangeListener:
    """A listener with every hook both libraries call: ``state_change`` reports transitions,
    ``before_call`` notes the ``async def`` functions the breaker was handed (``coroutines``)."""

    def __init__(
        self,
        on_change: Callable[[Any, Any], None],
        guard: CallbackGuard,
        coroutines: set[str] | None = None,
    ) -> None:
        self._on_change = on_change
        self._guard = guard
        self._coroutines = coroutines

    def before_call(self, cb: Any, func: Any, *args: Any, **kwargs: Any) -> None:
        if self._coroutines is not None and inspect.iscoroutinefunction(func):
            self._coroutines.add(getattr(func, "__qualname__", repr(func)))

    def failure(self, cb: Any, exc: BaseException) -> None:
        pass

    def success(self, cb: Any) -> None:
        pass

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        if old_state is not None and new_state is not None:  # None: the initial state
            self._guard.run(self._on_change, old_state, new_state)


class PyBreakerAdapter:
    """Adapter for ``pybreaker.CircuitBreaker`` (states ``closed``/``open``/``half-open``);
    transitions come from a pybreaker listener (``state_change``)."""

    #: Shown when a test expects HALF_OPEN too early (see ``BreakerAdapter``).
    half_open_on_call = "pybreaker"

    def __init__(self, breaker: Any) -> None:
        self.breaker = breaker
        self._guard = CallbackGuard(f"{type(self).__name__} listener")
        self.errors = self._guard.errors
        #: The ``async def`` functions pybreaker's ``call`` was handed (its decorator on one).
        self.coroutines: set[str] = set()

    def state(self) -> BreakerState:
        return BreakerState.parse(self.breaker.current_state)

    def force_open(self) -> None:
        self.breaker.open()

    def reset(self) -> None:
        self.breaker.close()

    def subscribe(self, listener: TransitionListener) -> Callable[[], None]:
        def on_change(old_state: Any, new_state: Any) -> None:
            listener(BreakerState.parse(old_state), BreakerState.parse(new_state))

        watched = self.coroutines if type(self) is PyBreakerAdapter else None
        hook = _StateChangeListener(on_change, self._guard, watched)
        self.breaker.add_listener(hook)
        return lambda: self.breaker.remove_listener(hook)

    def never_opens(self) -> list[str]:
        """Why a test that expected OPEN found it CLOSED, when pybreaker was handed an
        ``async def``: calling one returns its coroutine at once, a success."""
        if not self.coroutines:
            return []
        named = ", ".join(sorted(self.coroutines))
        return [
            f"pybreaker was handed the async def {named} (its decorator, or call()): calling "
            "it returns a coroutine at once, which pybreaker counts as a success, so the "
            "breaker never sees the awaited call fail and never opens. Wrap the await in "
            "`with breaker.calling():` instead (or use aiobreaker, made for asyncio)"
        ]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.breaker!r})"


class AioBreakerAdapter(PyBreakerAdapter):
    """Adapter for ``aiobreaker.CircuitBreaker`` (states are the ``CircuitBreakerState`` enum);
    transitions come from an aiobreaker listener (``state_change``). Its open timeout reads
    ``datetime.utcnow()``, which the clock moves."""

    half_open_on_call = "aiobreaker"
