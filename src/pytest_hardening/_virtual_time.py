"""Which sleeps the test waits for, and when a sleep may be virtual: on a clock that is running.

A test waits for the sleeps of the threads that serve it (:class:`ServingThreads`): its own,
the app's event loop (the client's portal thread, the test's own loop) and the pool threads
the app hands work to and awaits: anyio's worker threads, which run sync endpoints and sync
dependencies, ``concurrent.futures`` executors (asyncio's ``run_in_executor`` among them) and
trio's. A thread the app or a library started for itself (aws-xray-sdk's sampling pollers, a
metrics flusher, Sentry's monitor) keeps its own timing: the test never waits for its sleeps,
and a poller's ``time.sleep(interval)`` is no back-off.

Told apart by what the thread is, not by its name: the test's thread is the one that made the
watch; a running event loop, an anyio ``WorkerThread`` or a pool worker's entry function below
the sleep marks the others. A plain thread the app starts and then waits on (``join``, a queue
worker whose result a request awaits) is counted with the background threads: nothing marks it.

In the event loop, only the tasks serving a request the plugin's clients sent wait for the
test (:func:`serving_request`, :func:`in_request`): the app's background tasks (a re-dial
worker, a periodic refresh) run in the same loop and sleep there by design.

A virtual back-off moves the clock instead of sleeping. A sleep that comes after the clock
stopped (a thread still retrying when the test ended, an app kept running for the next test)
or that races its stop has no clock to move: it sleeps for real, as it would in production,
instead of failing in a thread that has nowhere to raise.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import sys
import threading
from collections.abc import Iterator, Mapping
from typing import Any, Protocol

__all__ = [
    "ClockNotRunning",
    "ServingThreads",
    "app_lifespan",
    "in_background",
    "in_request",
    "lifespan_message",
    "move_cause",
    "moved",
    "moves",
    "moving_for",
    "note_move",
    "serving_loop",
    "serving_request",
]

#: ``(module, function)`` a pool's worker thread runs: concurrent.futures' (asyncio's default
#: executor too) and trio's thread cache (``trio.to_thread``, anyio on trio).
_POOL_WORKERS = frozenset(
    {("concurrent.futures.thread", "_worker"), ("trio._core._thread_cache", "_work")}
)


class ServingThreads:
    """The threads whose sleeps the test waits for, as seen from the thread that made it (the
    test's): see the module's docstring."""

    def __init__(self) -> None:
        self.owner = threading.get_ident()

    def serving(self) -> bool:
        """Whether the calling thread serves the test."""
        if threading.get_ident() == self.owner or asyncio.events._get_running_loop() is not None:
            return True
        kind = type(threading.current_thread())
        if kind.__name__ == "WorkerThread" and kind.__module__.startswith("anyio."):
            return True  # anyio.to_thread on asyncio: Starlette's and FastAPI's sync endpoints
        if _in_trio():
            return True
        frame = sys._getframe(1)
        while frame is not None:
            if (frame.f_globals.get("__name__"), frame.f_code.co_name) in _POOL_WORKERS:
                return True
            frame = frame.f_back  # type: ignore[assignment]
        return False

    def serving_task(self) -> bool:
        """Whether the calling task serves the test, for a sleep awaited in an event loop: in
        the app's own loop (the client's portal thread), not the tasks its lifespan started
        (:func:`app_lifespan`: a poller, a scheduler keep their own time) unless they serve a
        request the test sent (:func:`in_request`). In the test's own thread every task counts
        (the test awaits the app's code there itself)."""
        if threading.get_ident() == self.owner:
            return True
        if not self.serving():
            return False
        return in_request() or not (_LIFESPAN.get() or _outlived_request())


class _Request:
    __slots__ = ("loop", "open")

    def __init__(self) -> None:
        self.open = True
        # The loop serving it: a sync endpoint's worker thread (the context copied) finds it.
        self.loop = asyncio.events._get_running_loop()


#: The request a task serves: set where the plugin's clients call the app, and inherited by
#: the tasks it starts (a task group of a streamed response, ``asyncio.gather``).
_SERVING: contextvars.ContextVar[_Request | None] = contextvars.ContextVar(
    "pytest_hardening_request", default=None
)


@contextlib.contextmanager
def serving_request() -> Iterator[None]:
    """Mark the code inside as serving a request the test waits for; a task it started that
    outlives the request (``asyncio.create_task`` in a handler) no longer counts afterwards."""
    request = _Request()
    token = _SERVING.set(request)
    try:
        yield
    finally:
        request.open = False
        _SERVING.reset(token)


#: Set while the plugin's clients run an app's lifespan: the tasks it starts (a poller, a
#: scheduler) inherit it, and are the app's background.
_LIFESPAN: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "pytest_hardening_lifespan", default=False
)


class _Phase:
    """Whether an app's lifespan is starting or stopping (the test waits for it) or running
    (what it started is background): one object for the lifespan's task and those it starts."""

    __slots__ = ("waited",)

    def __init__(self) -> None:
        self.waited = True


_PHASE: contextvars.ContextVar[_Phase | None] = contextvars.ContextVar(
    "pytest_hardening_lifespan_phase", default=None
)


@contextlib.contextmanager
def app_lifespan() -> Iterator[None]:
    """Mark the code inside as an app's lifespan: the tasks it starts are its background."""
    token, phase = _LIFESPAN.set(True), _PHASE.set(_Phase())
    try:
        yield
    finally:
        _PHASE.reset(phase)
        _LIFESPAN.reset(token)


def lifespan_message(message: Mapping[str, Any]) -> None:
    """Note a lifespan message the app sent or received, in its lifespan's task: once its
    startup is answered the test no longer waits for what it started; from the shutdown on,
    again."""
    phase = _PHASE.get()
    kind = str(message.get("type", ""))
    if phase is None:
        return
    if kind in ("lifespan.startup.complete", "lifespan.startup.failed"):
        phase.waited = False
    elif kind.startswith("lifespan.shutdown"):
        phase.waited = True


def in_background() -> bool:
    """Whether the calling task is one the app's lifespan started (a poller, a scheduler),
    running while nobody waits for the lifespan, and serves no request the test sent: the
    app's background, in any loop; or one a request started that outlived it (a job a
    handler handed to a scheduler, whose callbacks and tasks inherit the request's context)."""
    if in_request():
        return False
    if _outlived_request():
        return True
    if not _LIFESPAN.get():
        return False
    phase = _PHASE.get()
    return phase is None or not phase.waited


def in_request() -> bool:
    """Whether the calling task serves a request still in flight (see :func:`serving_request`)."""
    request = _SERVING.get()
    return request is not None and request.open


def serving_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop serving the request the calling task or thread works for: its own, or
    the one a sync endpoint's worker thread was handed the request from; None outside one."""
    request = _SERVING.get()
    return None if request is None else request.loop


def _outlived_request() -> bool:
    """Whether the calling task was started by a request that has been answered since."""
    request = _SERVING.get()
    return request is not None and not request.open


#: How many sleeps moved the clock in place of a real one in this thread or task: a watch of
#: real sleeps wrapped around the one that moved it reads no change, and records nothing.
_MOVES: contextvars.ContextVar[int] = contextvars.ContextVar("pytest_hardening_moves", default=0)


def moves() -> int:
    return _MOVES.get()


def note_move() -> None:
    _MOVES.set(_MOVES.get() + 1)


def _in_trio() -> bool:
    trio = sys.modules.get("trio")
    if trio is None:
        return False
    try:
        trio.lowlevel.current_trio_token()
    except RuntimeError:
        return False
    return True


class ClockNotRunning(RuntimeError):
    """The clock was stopped (or never started): nothing to move."""


class _Clock(Protocol):
    def advance(self, seconds: float) -> None: ...


_CAUSE: contextvars.ContextVar[str] = contextvars.ContextVar(
    "pytest_hardening_clock_cause", default="clock.advance()"
)


@contextlib.contextmanager
def moving_for(cause: str) -> Iterator[None]:
    """Moves of the clock inside the block are ``cause``'s (``"a latency(30s) fault"``): what
    a passed loop deadline is said to be passed by (see :mod:`._loop_deadlines`)."""
    token = _CAUSE.set(cause)
    try:
        yield
    finally:
        _CAUSE.reset(token)


def move_cause() -> str:
    """What is moving the clock now (see :func:`moving_for`)."""
    return _CAUSE.get()


def moved(clock: _Clock, seconds: float, cause: str = "a virtual back-off sleep") -> bool:
    """Whether ``clock`` moved by ``seconds`` in place of ``cause``'s sleep: False when it is
    not running (the caller then sleeps for real). Its other errors are raised."""
    try:
        with moving_for(cause):
            clock.advance(seconds)
    except ClockNotRunning:
        return False
    return True
