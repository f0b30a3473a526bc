"""AtOnce: a breaker whose ``state()``, ``force_open()`` or ``reset()`` is ``async def``, read
synchronously.

Hand-written asyncio breakers often make every method a coroutine, ``state()`` included, though
it only reads a field or takes a lock nobody holds between requests. The inspector is
synchronous (a test asks ``breakers.state("x")`` between requests): each coroutine is run to
its end at once, which works whenever it does not wait. One that does wait (a lock another task
holds, I/O) cannot be finished outside the app's event loop: that is an error saying so, never
a coroutine taken for a state.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["AtOnce"]


def _at_once(result: Any, what: str) -> Any:
    """``result``, or the value of the coroutine it is, finished without waiting."""
    if not inspect.iscoroutine(result):
        return result
    try:
        result.send(None)
    except StopIteration as finished:
        return finished.value
    result.close()
    raise TypeError(
        f"the breaker's {what} is a coroutine that waits (for a lock another task holds, or "
        "for I/O): the `breakers` fixture reads breakers between requests, outside the app's "
        f"event loop. Give `hardening_breakers` an adapter whose {what} returns at once "
        '(reading the breaker\'s fields); see docs/fixtures.md, "Your own breaker"'
    )


class AtOnce:
    """The breaker's own ``state()``, ``force_open()`` and ``reset()``, coroutines run to their
    end at once; its other attributes (``subscribe``, ``advance``, ``errors``) as they are."""

    def __init__(self, breaker: Any) -> None:
        self._breaker = breaker

    def state(self) -> Any:
        return _at_once(self._breaker.state(), "state()")

    def force_open(self) -> None:
        _at_once(self._breaker.force_open(), "force_open()")

    def reset(self) -> None:
        _at_once(self._breaker.reset(), "reset()")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._breaker, name)
