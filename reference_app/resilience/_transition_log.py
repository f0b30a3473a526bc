"""What a breaker tells the outside about its transitions: the recent ones, and its listeners.

The two ways to watch a breaker (``transitions`` and ``add_listener``) read from here. The
state machine appends each transition and hands it to :meth:`TransitionLog.notify` once its
lock is released, so a listener never runs under the lock and may call back into the breaker.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from ._state import Transition

__all__ = ["Listener", "TransitionLog"]

_log = logging.getLogger("reference_app.resilience")

Listener = Callable[[Transition], None]


class TransitionLog:
    """The last ``history`` transitions of one breaker, and the listeners told of each.

    It shares the state machine's lock: the history is read and written under it (the caller
    holds it), and the listener tuple is replaced under it, so :meth:`notify` reads it without.
    """

    __slots__ = ("_history", "_listeners", "_lock", "name")

    def __init__(self, name: str, history: int, lock: threading.Lock) -> None:
        self.name = name
        self._lock = lock
        self._history: deque[Transition] = deque(maxlen=history)
        self._listeners: tuple[Listener, ...] = ()

    # -- history (the caller holds the lock) ---------------------------------------------------

    def append(self, record: Transition) -> None:
        self._history.append(record)

    def recent(self) -> tuple[Transition, ...]:
        return tuple(self._history)

    def clear(self) -> None:
        self._history.clear()

    # -- listeners (the caller does not hold the lock) -----------------------------------------

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        with self._lock:
            self._listeners = (*self._listeners, listener)

        def unsubscribe() -> None:
            with self._lock:
                items = list(self._listeners)
                if listener in items:
                    items.remove(listener)
                    self._listeners = tuple(items)

        return unsubscribe

    def notify(self, record: Transition | None) -> None:
        if record is None:
            return
        for listener in self._listeners:
            try:
                listener(record)
            except Exception:
                # A broken listener must never break the breaker or the protected call.
                _log.exception("circuit breaker %r: listener %r failed", self.name, listener)
