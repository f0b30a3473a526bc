"""CircuitBreaker: what counts as a failure, and the call forms, over a :class:`StateMachine`.

Each call takes one path, written once per flavour (``_run`` for sync, ``_arun`` for async):
admit (a lock-free read while CLOSED), call, classify the outcome, report it to the state
machine. ``call``, ``acall`` and the decorator wrappers all go through it.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec, TypeVar, cast

from ._errors import CircuitOpenError
from ._machine import StateMachine, Ticket
from ._metrics import BreakerMetrics
from ._policy import TripPolicy
from ._state import State, Transition
from ._transition_log import Listener

__all__ = ["CircuitBreaker"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

Fallback = Callable[[CircuitOpenError], Any]


class CircuitBreaker:
    """A circuit breaker for sync and async callables; thread- and task-safe.

    ``CircuitBreaker(name, *, failure_threshold=5, success_threshold=2, open_timeout=60.0,
    half_open_max_calls=1, probe_timeout=None, failure_on=(Exception,), ignore=(),
    is_failure_result=None, is_failure_exception=None, trip_policy=None, clock=None,
    history=100)``

    - CLOSED: ``failure_threshold`` consecutive failures open it (a success resets the count),
      or ``trip_policy`` decides (e.g. :class:`FailureRate`).
    - OPEN: calls are rejected at once with a fresh :class:`CircuitOpenError` (or answered by
      ``fallback``) until ``open_timeout`` seconds have passed on the breaker clock.
    - HALF_OPEN: at most ``half_open_max_calls`` probes run at a time (others are rejected, not
      queued); ``success_threshold`` probe successes close it, any probe failure reopens it. A
      probe that has not completed after ``probe_timeout`` seconds (default: ``open_timeout``)
      loses its permit, and its late outcome is ignored.
    - Failures: an exception that is an instance of ``failure_on``, not of ``ignore``, and
      accepted by ``is_failure_exception`` (if given); a returned value for which
      ``is_failure_result`` is true (the value is still returned). Everything else that raises
      passes through uncounted, and so does asyncio cancellation, always: it never counts as a
      success, never resets the failure count, and a cancelled probe gives its permit back.
    - ``fallback``: called as ``fallback(error)`` with the :class:`CircuitOpenError` only when the
      breaker rejects the call (not when the call itself fails); its return value is returned.
      In ``acall`` and async decorated functions an awaitable fallback result is awaited.
    - ``clock``: a zero-argument callable returning monotonic seconds; default
      ``time.monotonic``, looked up at each call so freezegun moves it.
    """

    __slots__ = (
        "__weakref__",
        "_failure_on",
        "_ignore",
        "_is_failure_exception",
        "_is_failure_result",
        "_machine",
    )

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int = 5,
        success_threshold: int = 2,
        open_timeout: float = 60.0,
        half_open_max_calls: int = 1,
        probe_timeout: float | None = None,
        failure_on: tuple[type[BaseException], ...] = (Exception,),
        ignore: tuple[type[BaseException], ...] = (),
        is_failure_result: Callable[[object], bool] | None = None,
        is_failure_exception: Callable[[BaseException], bool] | None = None,
        trip_policy: TripPolicy | None = None,
        clock: Callable[[], float] | None = None,
        history: int = 100,
    ) -> None:
        self._machine = StateMachine(
            name,
            failure_threshold=failure_threshold,
            success_threshold=success_threshold,
            open_timeout=open_timeout,
            half_open_max_calls=half_open_max_calls,
            probe_timeout=probe_timeout,
            trip_policy=trip_policy,
            clock=clock,
            history=history,
        )
        import asyncio  # here: importing the package (and the app's config) stays light

        self._failure_on = tuple(failure_on)
        # Cancellation is always neutral, whatever failure_on says.
        self._ignore: tuple[type[BaseException], ...] = (asyncio.CancelledError, *ignore)
        self._is_failure_result = is_failure_result
        self._is_failure_exception = is_failure_exception

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self._machine.peek().value}>"

    # -- configuration (read-only) -------------------------------------------------------------

    @property
    def name(self) -> str:
        return self._machine.name

    @property
    def failure_threshold(self) -> int:
        return self._machine.failure_threshold

    @property
    def success_threshold(self) -> int:
        return self._machine.success_threshold

    @property
    def open_timeout(self) -> float:
        return self._machine.open_timeout

    @property
    def half_open_max_calls(self) -> int:
        return self._machine.half_open_max_calls

    @property
    def probe_timeout(self) -> float:
        return self._machine.probe_timeout

    # -- inspection and control ----------------------------------------------------------------

    @property
    def state(self) -> State:
        """The current state; an OPEN breaker whose timeout has elapsed reports HALF_OPEN."""
        return self._machine.state

    @property
    def transitions(self) -> tuple[Transition, ...]:
        """The last ``history`` transitions, oldest first."""
        return self._machine.transitions

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(transition)`` after every transition; returns an unsubscribe callable.

        Listeners run outside the breaker's lock, in the thread that caused the transition; an
        exception from a listener is logged and swallowed.
        """
        return self._machine.add_listener(listener)

    def force_open(self) -> None:
        """Open now (reason ``"forced"``); the usual open timeout then applies."""
        self._machine.force_open()

    def reset(self, *, clear_history: bool = False) -> None:
        """Back to CLOSED with every count cleared (a ``"reset"`` transition if state changed)."""
        self._machine.reset(clear_history=clear_history)

    def metrics(self) -> BreakerMetrics:
        """A consistent snapshot of state, counts and recent transitions."""
        return self._machine.metrics()

    # -- call forms ----------------------------------------------------------------------------

    def call(
        self, fn: Callable[..., T], /, *args: Any, fallback: Fallback | None = None, **kwargs: Any
    ) -> T:
        """``fn(*args, **kwargs)`` through the breaker (``fallback`` is not passed to ``fn``)."""
        return self._run(fn, args, kwargs, fallback)

    def acall(
        self,
        fn: Callable[..., Awaitable[T]],
        /,
        *args: Any,
        fallback: Fallback | None = None,
        **kwargs: Any,
    ) -> Coroutine[Any, Any, T]:
        """``await breaker.acall(fn, *args, **kwargs)``: ``await fn(*args, **kwargs)`` through
        the breaker."""
        # Not ``async def``: it hands back _arun's coroutine instead of wrapping it in a second
        # one. An exception leaving a frame costs about as much as the whole rejection, so the
        # app's open-breaker path (every provider and the database call acall) stays one frame
        # deep; bench/README.md has the numbers.
        return self._arun(fn, args, kwargs, fallback)

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorator form: ``@breaker`` on a ``def`` or an ``async def``."""
        return self.wrap(fn)

    def wrap(self, fn: Callable[P, R], *, fallback: Fallback | None = None) -> Callable[P, R]:
        """Protect ``fn`` (sync or async, decided once here), keeping its signature.

        ``async def`` functions (and partials of them) get an async wrapper. A plain callable
        that merely returns an awaitable would be timed as sync: protect it with ``acall``.
        """
        run, arun = self._run, self._arun
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                return await arun(fn, args, kwargs, fallback)

            return cast(Callable[P, R], async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            return run(fn, args, kwargs, fallback)

        return wrapper

    # -- the one path of a call ----------------------------------------------------------------

    def _run(self, fn: Callable[..., T], args: Any, kwargs: Any, fallback: Fallback | None) -> T:
        machine = self._machine
        ticket: Ticket | None = machine.closed_epoch  # lock-free while CLOSED
        if ticket is None:
            admitted = machine.admit()
            if isinstance(admitted, CircuitOpenError):
                if fallback is None:
                    raise admitted
                return fallback(admitted)  # type: ignore[no-any-return]
            ticket = admitted
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._record_exception(ticket, exc)
            raise
        check = self._is_failure_result
        if check is None or not check(result):
            machine.succeeded(ticket)
        else:
            machine.failed(ticket)
        return result

    async def _arun(
        self,
        fn: Callable[..., Awaitable[T]],
        args: Any,
        kwargs: Any,
        fallback: Fallback | None,
    ) -> T:
        machine = self._machine
        ticket: Ticket | None = machine.closed_epoch  # lock-free while CLOSED
        if ticket is None:
            admitted = machine.admit()
            if isinstance(admitted, CircuitOpenError):
                if fallback is None:
                    raise admitted
                value = fallback(admitted)
                return await value if inspect.isawaitable(value) else value  # type: ignore[no-any-return]
            ticket = admitted
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            self._record_exception(ticket, exc)
            raise
        check = self._is_failure_result
        if check is None or not check(result):
            if ticket.__class__ is int and not machine.consecutive and machine.policy is None:
                # machine.succeeded(ticket) inlined for its commonest case, a CLOSED success with
                # nothing to reset: about 15 % of acall's overhead, the form all six of the
                # app's breakers use (bench/README.md).
                next(machine.counts.successes)
            else:
                machine.succeeded(ticket)
        else:
            machine.failed(ticket)
        return result

    # -- classification ------------------------------------------------------------------------

    def _record_exception(self, ticket: Ticket, exc: BaseException) -> None:
        if (
            isinstance(exc, self._failure_on)
            and not isinstance(exc, self._ignore)
            and (self._is_failure_exception is None or self._is_failure_exception(exc))
        ):
            self._machine.failed(ticket)
        else:
            self._machine.neutral(ticket)
