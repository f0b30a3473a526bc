"""AtOnce: a breaker whose ``state()``, ``force_open()`` or ``reset()`` is ``async def``, read
synchronously.

Hand-written asyncio breakers often make every method a coroutine, ``state()`` included; some
keep their state in Redis or a database, read through the app's async client. The inspector is
synchronous (a test asks ``breakers.state("x")`` between requests). While the app's event loop
runs in a thread of its own (``hardened_client``'s), each coroutine runs there, where the app's
loop-bound clients work. Otherwise (``hardened_async_client``: the loop is the test's own, busy
with the test) it is run to its end at once, which works whenever it does not wait; one that
does wait (a lock another task holds, I/O) is an error saying so, never a coroutine taken for a
state.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from pytest_hardening._exception_chain import chain

__all__ = ["NOT_RUNNING", "AtOnce", "InAppLoop", "call_at_once"]

#: What an :data:`InAppLoop` returns when the app's loop does not run in a thread of its own.
NOT_RUNNING: Any = object()
#: Runs a coroutine function to its end in the app's event loop and returns its value, or
#: returns :data:`NOT_RUNNING`.
InAppLoop = Callable[[Callable[[], Awaitable[Any]]], Any]


def _at_once(result: Any, what: str) -> Any:
    """``result``, or the value of the coroutine it is, finished without waiting."""
    if not inspect.iscoroutine(result):
        return result
    try:
        result.send(None)
    except StopIteration as finished:
        return finished.value
    except Exception as error:
        if _needed_a_loop(error):  # an async store's client (fakeredis, redis.asyncio)
            raise _cannot_finish(
                what, "needs a running event loop (its async store does)"
            ) from error
        raise
    result.close()
    raise _cannot_finish(what, "waits (for a lock another task holds, or for I/O)")


def _cannot_finish(what: str, why: str) -> TypeError:
    return TypeError(
        f"the breaker's {what} is a coroutine that {why}, and no event loop of the app runs in "
        "a thread of its own to finish it in (hardened_async_client runs the app in the "
        "test's own loop, busy with the test, or not running yet). Use hardened_client, whose "
        "app loop runs in a thread of its own, or give `hardening_breakers` an adapter whose "
        f'{what} returns at once (a sync read of the same store); see docs/fixtures.md, "Your '
        'own breaker"'
    )


def _needed_a_loop(error: BaseException) -> bool:
    """Whether ``error`` came of asking for a running event loop where none runs (a client
    may wrap it: redis-py's ``ConnectionError``)."""
    return any(
        isinstance(current, RuntimeError) and "no running event loop" in str(current)
        for current in chain(error)
    )


def call_at_once(method: Callable[[], Any], what: str, in_app_loop: InAppLoop | None = None) -> Any:
    """``method()``; an ``async def`` one run in the app's loop (``in_app_loop``, while that
    runs in a thread of its own), else to its end at once."""
    if in_app_loop is not None and inspect.iscoroutinefunction(method):
        value = in_app_loop(method)
        if value is not NOT_RUNNING:
            return value
    return _at_once(method(), what)


class AtOnce:
    """The breaker's own ``state()``, ``force_open()`` and ``reset()``, coroutines run to their
    end at once; its other attributes (``subscribe``, ``advance``, ``errors``) as they are."""

    def __init__(self, breaker: Any, in_app_loop: InAppLoop | None = None) -> None:
        self._breaker = breaker
        self._in_app_loop = in_app_loop

    def state(self) -> Any:
        return self._call("state")

    def force_open(self) -> None:
        self._call("force_open")

    def reset(self) -> None:
        self._call("reset")

    def _call(self, name: str) -> Any:
        return call_at_once(getattr(self._breaker, name), f"{name}()", self._in_app_loop)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._breaker, name)
