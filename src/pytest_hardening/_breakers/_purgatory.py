"""Adapter for purgatory circuits, and its factories as breaker registries."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import Any

from ._base import BreakerState, CallbackGuard, TransitionListener, UnsupportedBreakerError

__all__ = ["PurgatoryAdapter", "PurgatoryRegistry", "is_purgatory_factory"]


def _model() -> Any:
    import purgatory.domain.model as model  # present whenever a purgatory object exists

    return model


class PurgatoryAdapter:
    """Adapter for one purgatory circuit (states ``closed``/``opened``/``half-opened``).

    Built from the circuit's ``Context``, from an ``AsyncCircuitBreaker``/``SyncCircuitBreaker``
    (``factory.get_breaker(name)``), or by :class:`PurgatoryRegistry` for a factory's circuits.
    Transitions come from purgatory's ``state_changed`` events (the factory's ``add_listener``,
    or the breaker's message bus), which purgatory delivers when the guarded block ends.
    ``force_open``/``reset`` set the circuit's state directly (in-memory storage). Its open
    timeout reads ``time.time()``, which the clock moves.
    """

    half_open_on_call = "purgatory"

    def __init__(self, breaker: Any, *, factory: Any = None) -> None:
        self.context = getattr(breaker, "context", breaker)
        self.name: str = self.context.name
        self._factory = factory
        self._bus = getattr(breaker, "messagebus", None)
        self._breaker_module = sys.modules.get(type(breaker).__module__)
        self._guard = CallbackGuard(f"{type(self).__name__} hook ({self.name})")
        self.errors = self._guard.errors
        self._lock = threading.Lock()
        self._last = self.state()  # purgatory's events carry only the new state

    def state(self) -> BreakerState:
        return BreakerState.parse(self.context.state)

    def force_open(self) -> None:
        self._set(_model().OpenedState(self.name))

    def reset(self) -> None:
        self._set(_model().ClosedState())

    def _set(self, new_state: Any) -> None:
        # Not Context.set_state: its queued event would reach listeners at the end of the next
        # guarded block, long after the change.
        self.context._state = new_state
        with self._lock:
            self._last = self.state()

    def subscribe(self, listener: TransitionListener) -> Callable[[], None]:
        def on_event(name: str, event_type: str, event: Any) -> None:
            if name != self.name or event_type != "state_changed":
                return
            new = BreakerState.parse(event.state)
            with self._lock:
                old, self._last = self._last, new
            if old != new:
                listener(old, new)

        def hook(name: str, event_type: str, event: Any) -> None:
            self._guard.run(on_event, name, event_type, event)

        if self._factory is not None:
            self._factory.add_listener(hook)
            return lambda: self._factory.remove_listener(hook)
        public_event = getattr(self._breaker_module, "PublicEvent", None)
        if self._bus is None or public_event is None:
            return lambda: None  # a bare Context: observed by the inspector
        events = public_event(self._bus, hook)
        return lambda: events.remove_listeners(self._bus)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def is_purgatory_factory(obj: Any) -> bool:
    return type(obj).__module__.startswith("purgatory.") and hasattr(obj, "get_breaker")


class PurgatoryRegistry:
    """A purgatory ``AsyncCircuitBreakerFactory``/``SyncCircuitBreakerFactory`` as a registry:
    names are its circuits, read live (purgatory creates a circuit on its first use).
    ``create(name)`` adds a circuit with the factory's defaults, so ``force_open`` works before
    the app used it. In-memory storage only: with Redis each use loads a fresh copy."""

    def __init__(self, factory: Any) -> None:
        repository = factory.uow.contexts
        if not isinstance(getattr(repository, "breakers", None), dict):
            raise UnsupportedBreakerError(
                f"cannot list the circuits of {type(factory).__name__} with "
                f"{type(repository).__name__}: only purgatory's in-memory storage keeps them; "
                "return a mapping name -> factory.get_breaker(name) from hardening_breakers"
            )
        self.factory = factory
        self._circuits: dict[str, Any] = repository.breakers
        self.errors: list[str] = []
        self._adapters: dict[str, PurgatoryAdapter] = {}

    def names(self) -> list[str]:
        return list(self._circuits)

    def get(self, name: str) -> Any:
        context = self._circuits.get(name)
        if context is None:
            return None
        adapter = self._adapters.get(name)
        if adapter is None or adapter.context is not context:
            adapter = self._adapters[name] = PurgatoryAdapter(context, factory=self.factory)
        return adapter

    def watch(self, on_new: Callable[[str], None]) -> Callable[[], None]:
        """Call ``on_new(name)`` when the factory creates a circuit."""
        guard = CallbackGuard(f"{type(self).__name__} watcher")
        self.errors = guard.errors

        def hook(name: str, event_type: str, event: Any) -> None:
            if event_type == "circuit_breaker_created":
                guard.run(on_new, name)

        self.factory.add_listener(hook)
        return lambda: self.factory.remove_listener(hook)

    def create(self, name: str) -> Any:
        if name not in self._circuits:
            factory = self.factory
            self._circuits[name] = _model().Context(
                name, factory.default_threshold, factory.default_ttl
            )
        return self.get(name)
