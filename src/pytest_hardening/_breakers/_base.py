"""The adapter protocol: normalised states, the adapter shape, and guarded library callbacks."""

from __future__ import annotations

import enum
import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

__all__ = [
    "ADAPTER_PROTOCOL",
    "BreakerAdapter",
    "BreakerState",
    "TransitionListener",
    "UnsupportedBreakerError",
    "unreadable",
]

TransitionListener = Callable[[Any, Any], None]
"""``listener(from_state, to_state)``; states in any spelling :meth:`BreakerState.parse` reads."""

ADAPTER_PROTOCOL = (
    "a breaker with `state` (attribute or property: CLOSED/OPEN/HALF_OPEN in any spelling), "
    "`force_open()` and `reset()` (optionally `add_listener(callback) -> unsubscribe`), or a "
    "BreakerAdapter wrapping it: `state()`, `force_open()`, `reset()`, optionally "
    "`subscribe(listener) -> unsubscribe` and `advance(seconds)` (see docs/fixtures.md, "
    '"Your own breaker")'
)


class UnsupportedBreakerError(TypeError):
    """What the app returned as its breakers cannot be read: the message says what it lacks
    and what would do (a user's mistake, so a test fails with the message, not a traceback)."""


class BreakerState(str, enum.Enum):
    """Normalised breaker state; equal to its name (``BreakerState.OPEN == "OPEN"``)."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"

    def __str__(self) -> str:
        return self.value

    @classmethod
    def parse(cls, value: Any) -> BreakerState:
        """Read a library's state: ``"open"``, ``"opened"``, ``"half-open"``, ``"half_opened"``,
        enums (by value, or by name when the value is not a string), and state objects with a
        ``name`` (pybreaker) or a ``state`` enum (aiobreaker)."""
        if isinstance(value, BreakerState):
            return value
        raw = value
        if isinstance(value, enum.Enum):
            value = value.value if isinstance(value.value, str) else value.name
        elif not isinstance(value, str):
            inner = getattr(value, "state", None)
            if isinstance(inner, enum.Enum):
                return cls.parse(inner)
            value = getattr(value, "name", value)
        key = str(value).strip().upper().replace("-", "_").replace(" ", "_")
        try:
            return _ALIASES[key]
        except KeyError:
            raise ValueError(
                f"unknown breaker state {raw!r}: expected CLOSED, OPEN or HALF_OPEN "
                "(any case; 'opened', 'half-open', 'half_opened' are read too)"
            ) from None


_ALIASES = {
    "CLOSED": BreakerState.CLOSED,
    "CLOSE": BreakerState.CLOSED,
    "OPEN": BreakerState.OPEN,
    "OPENED": BreakerState.OPEN,
    "HALF_OPEN": BreakerState.HALF_OPEN,
    "HALF_OPENED": BreakerState.HALF_OPEN,
    "HALFOPEN": BreakerState.HALF_OPEN,
}


@runtime_checkable
class BreakerAdapter(Protocol):
    """What the inspector needs from a breaker.

    Required: ``state()`` (a :class:`BreakerState` or any spelling it parses), ``force_open()``
    and ``reset()`` (close it). Optional, looked up by name:

    - ``subscribe(listener) -> unsubscribe``: call ``listener(from_state, to_state)`` on every
      transition. It runs inside the app's request, so it must never raise. Without it, the
      inspector records transitions by observation: it reads ``state()`` on each of its own
      calls and around ``force_open``/``reset``.
    - ``advance(seconds)``: move a breaker that runs on its own clock (e.g. a manual clock);
      ``BreakerInspector.advance`` calls it. Breakers that read ``time.monotonic()``,
      ``time.time()`` or ``datetime.now()`` need nothing: the ``clock`` fixture moves them,
      including ones that stored the real ``time.monotonic`` before the clock started.
    - ``errors``: a list of messages about failures inside library callbacks, which the
      ``breakers`` fixture reports at teardown.
    - ``half_open_on_call``: the library's name, when it moves OPEN -> HALF_OPEN only on the
      first call after its open timeout (pybreaker, aiobreaker, purgatory), not when the
      timeout passes; a test expecting HALF_OPEN before that call is told so.
    """

    def state(self) -> Any: ...

    def force_open(self) -> None: ...

    def reset(self) -> None: ...


class CallbackGuard:
    """Runs adapter code that a library calls inside the app's request: an exception is recorded
    in :attr:`errors` (reported at teardown) instead of reaching the app."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.errors: list[str] = []
        self._lock = threading.Lock()

    def run(self, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
        except Exception as exc:  # the app under test must never see the harness fail
            with self._lock:
                self.errors.append(f"{self.label}: {type(exc).__name__}: {exc}")


def unreadable(name: str, breaker: Any, doing: str, exc: Exception) -> RuntimeError:
    """The error for a breaker that could not be read or closed. A breaker that keeps its state
    outside the process (pybreaker's ``CircuitRedisStorage``, a table) fails with its store's
    error, which alone says neither that the plugin was reading the breaker nor what to do."""
    kind = f"{type(breaker).__module__}.{type(breaker).__qualname__}"
    message = (
        f"the breakers fixture could not {doing} breaker {name!r} ({kind}): "
        f"{type(exc).__name__}: {exc}"
    )
    if isinstance(exc, OSError) or type(exc).__module__ != "builtins":  # a store's, a driver's
        message += (
            ". A breaker that keeps its state outside the process (in Redis, a database) needs "
            "that store while the tests run: start it on 127.0.0.1, or give the app an "
            "in-process store in tests (fakeredis, pybreaker's CircuitMemoryStorage). To leave "
            "the app's breakers out, return {} from the hardening_breakers fixture (see "
            "docs/fixtures.md)"
        )
    return RuntimeError(message)
