"""BreakerInspector: state, transitions, force/reset over any app's circuit breakers.

Breakers are reached through small adapters: :class:`NativeBreaker` for the protocol in
docs/architecture.md (``state``, ``add_listener``, ``force_open``, ``reset``) and
:class:`PyBreakerAdapter` for ``pybreaker.CircuitBreaker``.
"""

from __future__ import annotations

import enum
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "BreakerAdapter",
    "BreakerInspector",
    "BreakerState",
    "NativeBreaker",
    "PyBreakerAdapter",
    "adapt_breaker",
]

TransitionListener = Callable[[str, str], None]


class BreakerState(str, enum.Enum):
    """Normalised breaker state; equal to its name (``BreakerState.OPEN == "OPEN"``)."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"

    def __str__(self) -> str:
        return self.value


def _normalise(value: Any) -> BreakerState:
    if isinstance(value, enum.Enum):
        value = value.value
    elif not isinstance(value, str):
        value = getattr(value, "name", value)  # pybreaker state objects
    return BreakerState(str(value).upper().replace("-", "_"))


@runtime_checkable
class BreakerAdapter(Protocol):
    """What the inspector needs from a breaker."""

    def state(self) -> BreakerState: ...

    def force_open(self) -> None: ...

    def reset(self) -> None: ...

    def subscribe(self, listener: TransitionListener) -> Callable[[], None]: ...


class NativeBreaker:
    """Adapter for breakers with the project's protocol (``reference_app.resilience``)."""

    def __init__(self, breaker: Any) -> None:
        self.breaker = breaker

    def state(self) -> BreakerState:
        return _normalise(self.breaker.state)

    def force_open(self) -> None:
        self.breaker.force_open()

    def reset(self) -> None:
        self.breaker.reset()

    def subscribe(self, listener: TransitionListener) -> Callable[[], None]:
        def on_transition(transition: Any) -> None:
            listener(_normalise(transition.from_state).value, _normalise(transition.to_state).value)

        unsubscribe: Callable[[], None] = self.breaker.add_listener(on_transition)
        return unsubscribe


class PyBreakerAdapter:
    """Adapter for ``pybreaker.CircuitBreaker`` (states ``closed``/``open``/``half-open``)."""

    def __init__(self, breaker: Any) -> None:
        self.breaker = breaker

    def state(self) -> BreakerState:
        return _normalise(self.breaker.current_state)

    def force_open(self) -> None:
        self.breaker.open()

    def reset(self) -> None:
        self.breaker.close()

    def subscribe(self, listener: TransitionListener) -> Callable[[], None]:
        import pybreaker  # a test-time dependency, only needed when such a breaker exists

        class _Listener(pybreaker.CircuitBreakerListener):
            def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
                if old_state is None or new_state is None:
                    return
                listener(_normalise(old_state.name).value, _normalise(new_state.name).value)

        hook = _Listener()
        self.breaker.add_listener(hook)
        return lambda: self.breaker.remove_listener(hook)


def adapt_breaker(breaker: Any) -> BreakerAdapter:
    """Wrap ``breaker`` in the adapter that fits it (adapters pass through unchanged)."""
    if isinstance(breaker, (NativeBreaker, PyBreakerAdapter)):
        return breaker
    pybreaker = sys.modules.get("pybreaker")
    if pybreaker is not None and isinstance(breaker, pybreaker.CircuitBreaker):
        return PyBreakerAdapter(breaker)
    if all(hasattr(breaker, a) for a in ("state", "add_listener", "force_open", "reset")):
        return NativeBreaker(breaker)
    if isinstance(breaker, BreakerAdapter):
        return breaker
    raise TypeError(
        f"cannot inspect {type(breaker).__name__!r} as a circuit breaker: expected the "
        "state/add_listener/force_open/reset protocol, a pybreaker.CircuitBreaker, or a "
        "BreakerAdapter (override the hardening_breakers fixture)"
    )


class BreakerInspector:
    """Observe and steer named breakers; transitions are recorded from :meth:`start` on."""

    def __init__(self, breakers: Mapping[str, Any], *, history: int = 5) -> None:
        self._adapters = {name: adapt_breaker(b) for name, b in breakers.items()}
        self._log: dict[str, list[tuple[str, str]]] = {name: [] for name in self._adapters}
        self._unsubscribe: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._history = history

    @property
    def names(self) -> list[str]:
        return sorted(self._adapters)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def start(self, *, reset: bool = True) -> BreakerInspector:
        """Reset every breaker (unless told not to) and start recording transitions."""
        if reset:
            for adapter in self._adapters.values():
                adapter.reset()
        for name, adapter in self._adapters.items():
            self._unsubscribe.append(adapter.subscribe(self._recorder(name)))
        return self

    def stop(self) -> None:
        while self._unsubscribe:
            self._unsubscribe.pop()()

    def _recorder(self, name: str) -> TransitionListener:
        def record(from_state: str, to_state: str) -> None:
            with self._lock:
                self._log[name].append((from_state, to_state))

        return record

    def _adapter(self, name: str) -> BreakerAdapter:
        try:
            return self._adapters[name]
        except KeyError:
            raise KeyError(f"no breaker named {name!r}; breakers: {self.names}") from None

    def state(self, name: str) -> BreakerState:
        return self._adapter(name).state()

    def transitions(self, name: str) -> list[tuple[str, str]]:
        adapter = self._adapter(name)
        adapter.state()  # lets lazy breakers apply a due OPEN -> HALF_OPEN first
        with self._lock:
            return list(self._log[name])

    def all_transitions(self) -> dict[str, list[tuple[str, str]]]:
        with self._lock:
            return {name: list(log) for name, log in self._log.items() if log}

    def force_open(self, name: str) -> None:
        self._adapter(name).force_open()

    def reset(self, name: str | None = None) -> None:
        """Close the breaker(s) and forget their recorded transitions."""
        for key in [name] if name is not None else list(self._adapters):
            self._adapter(key).reset()
            with self._lock:
                self._log[key].clear()

    def history(self, name: str) -> str:
        recent = self.transitions(name)[-self._history :]
        if not recent:
            return f"  (no transitions of {name})"
        return "\n".join(f"  {a} -> {b}" for a, b in recent)

    def assert_state(self, name: str, expected: str) -> None:
        __tracebackhide__ = True
        actual = self.state(name)
        if actual != _normalise(expected):
            raise AssertionError(
                f"breaker {name!r}: expected {_normalise(expected).value}, "
                f"actual {actual.value}.\nrecent transitions:\n{self.history(name)}"
            )
