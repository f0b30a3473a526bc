"""Stand-ins for ``time.sleep`` and async sleeps that act in the test's own thread only.

Every other thread in the worker keeps sleeping for real: Sentry's monitor thread sleeps in a
``while`` loop for as long as a client lives, and a reused app runs its event loop in a thread
of its own. A process-wide stand-in that returns at once turns their sleeps into busy loops,
and one that records its calls records theirs too, without end."""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

import pytest


def this_thread_only(
    fake: Callable[[float], Any], real: Callable[[float], Any]
) -> Callable[[float], None]:
    """``fake`` in the calling thread, ``real`` in every other."""
    test_thread = threading.get_ident()

    def sleep(seconds: float) -> None:
        (fake if threading.get_ident() == test_thread else real)(seconds)

    return sleep


def this_thread_only_async(
    fake: Callable[..., Awaitable[Any]], real: Callable[..., Awaitable[Any]]
) -> Callable[..., Awaitable[Any]]:
    """The async twin of :func:`this_thread_only` (for ``asyncio.sleep`` or ``anyio.sleep``)."""
    test_thread = threading.get_ident()

    async def sleep(seconds: float, *args: Any) -> Any:
        chosen = fake if threading.get_ident() == test_thread else real
        return await chosen(seconds, *args)

    return sleep


def instant_in(modules: Collection[str], real: Callable[[float], Any]) -> Callable[[float], None]:
    """A ``time.sleep`` that returns at once (``real(0)``) when code of ``modules`` called it,
    through any wrapper a watch put around it, and sleeps for real elsewhere: the app's sleeps
    cost the test nothing, and a watch around this one still sees what they asked for."""

    def sleep(seconds: float) -> None:
        frame: Any = sys._getframe(1)
        while frame is not None:
            if frame.f_globals.get("__name__") in modules:
                real(0)
                return
            frame = frame.f_back
        real(seconds)

    return sleep


def instant_async_in(
    modules: Collection[str], real: Callable[..., Awaitable[Any]]
) -> Callable[..., Awaitable[Any]]:
    """The async twin of :func:`instant_in`, for ``asyncio.sleep``: ``await real(0)`` (still a
    checkpoint) when code of ``modules`` awaits it, a real sleep elsewhere."""

    async def sleep(seconds: float, result: Any = None) -> Any:
        frame: Any = sys._getframe(1)
        while frame is not None:
            if frame.f_globals.get("__name__") in modules:
                return await real(0, result)
            frame = frame.f_back
        return await real(seconds, result)

    return sleep


@pytest.fixture
def no_real_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """A real back-off sleep (``time.sleep``, ``asyncio.sleep``) in the test's thread fails the
    test; ``asyncio.sleep(0)``, a checkpoint, is let through."""
    real_async_sleep = asyncio.sleep

    def sleep(seconds: float) -> None:
        raise AssertionError(f"real time.sleep({seconds})")

    async def async_sleep(seconds: float, result: Any = None) -> Any:
        if seconds > 0:
            raise AssertionError(f"real asyncio.sleep({seconds})")
        return await real_async_sleep(0, result)

    monkeypatch.setattr(time, "sleep", this_thread_only(sleep, time.sleep))
    monkeypatch.setattr(asyncio, "sleep", this_thread_only_async(async_sleep, asyncio.sleep))
