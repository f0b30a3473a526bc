"""CircuitBreaker: the call forms (sync, async, decorator) over the state machine in ``_core``.

The CLOSED success path is inlined in each form (``call``, ``acall`` and both decorator
wrappers) because it is the hot path: one attribute read to admit, one atomic counter bump and
one attribute read after the call. ``bench/bench_breaker.py`` measures it against peer libraries.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, ParamSpec, TypeVar, cast

from ._control import _ManagedBreaker
from ._core import Ticket
from ._errors import CircuitOpenError

__all__ = ["CircuitBreaker"]

P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")

Fallback = Callable[[CircuitOpenError], Any]


class CircuitBreaker(_ManagedBreaker):
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

    __slots__ = ()

    def call(
        self, fn: Callable[..., T], /, *args: Any, fallback: Fallback | None = None, **kwargs: Any
    ) -> T:
        """``fn(*args, **kwargs)`` through the breaker (``fallback`` is not passed to ``fn``)."""
        epoch = self._fast_epoch
        if epoch is None:
            error = self._rejection()
            if error is not None:
                if fallback is None:
                    raise error
                return cast(T, fallback(error))
            return cast(T, self._call_guarded(fn, args, kwargs, fallback))
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._on_exception(epoch, exc)
            raise
        next(self._successes)
        if self._consecutive:
            self._closed_outcome(epoch, failed=False)
        return result

    async def acall(
        self,
        fn: Callable[..., Awaitable[T]],
        /,
        *args: Any,
        fallback: Fallback | None = None,
        **kwargs: Any,
    ) -> T:
        """``await fn(*args, **kwargs)`` through the breaker."""
        epoch = self._fast_epoch
        if epoch is None:
            error = self._rejection()
            if error is not None:
                if fallback is None:
                    raise error
                value = fallback(error)
                return cast(T, await value if inspect.isawaitable(value) else value)
            return cast(T, await self._acall_guarded(fn, args, kwargs, fallback))
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            self._on_exception(epoch, exc)
            raise
        next(self._successes)
        if self._consecutive:
            self._closed_outcome(epoch, failed=False)
        return result

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorator form: ``@breaker`` on a ``def`` or an ``async def``."""
        return self.wrap(fn)

    def wrap(self, fn: Callable[P, R], *, fallback: Fallback | None = None) -> Callable[P, R]:
        """Protect ``fn`` (sync or async, decided once here), keeping its signature.

        ``async def`` functions (and partials of them) get an async wrapper. A plain callable
        that merely returns an awaitable would be timed as sync: protect it with ``acall``.
        """
        if inspect.iscoroutinefunction(fn):
            return cast(Callable[P, R], self._wrap_async(fn, fallback))
        return self._wrap_sync(fn, fallback)

    # -- the guarded (non-fast) paths ----------------------------------------------------------

    def _call_guarded(
        self, fn: Callable[..., Any], args: Any, kwargs: Any, fallback: Fallback | None
    ) -> Any:
        ticket: Ticket | CircuitOpenError | None = self._closed_epoch
        if ticket is None:
            ticket = self._admit(self._now())
            if ticket.__class__ is CircuitOpenError:
                if fallback is None:
                    raise ticket
                return fallback(ticket)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._on_exception(ticket, exc)  # type: ignore[arg-type]
            raise
        self._on_result(ticket, result)  # type: ignore[arg-type]
        return result

    async def _acall_guarded(
        self,
        fn: Callable[..., Awaitable[Any]],
        args: Any,
        kwargs: Any,
        fallback: Fallback | None,
    ) -> Any:
        ticket: Ticket | CircuitOpenError | None = self._closed_epoch
        if ticket is None:
            ticket = self._admit(self._now())
            if ticket.__class__ is CircuitOpenError:
                if fallback is None:
                    raise ticket
                value = fallback(ticket)
                return await value if inspect.isawaitable(value) else value
        try:
            result = await fn(*args, **kwargs)
        except BaseException as exc:
            self._on_exception(ticket, exc)  # type: ignore[arg-type]
            raise
        self._on_result(ticket, result)  # type: ignore[arg-type]
        return result

    # -- decorator wrappers (fast path inlined, see module docstring) --------------------------

    def _wrap_sync(self, fn: Callable[P, R], fallback: Fallback | None) -> Callable[P, R]:
        breaker = self

        @functools.wraps(fn)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
            epoch = breaker._fast_epoch
            if epoch is None:
                error = breaker._rejection()
                if error is not None:
                    if fallback is None:
                        raise error
                    return cast(R, fallback(error))
                return cast(R, breaker._call_guarded(fn, args, kwargs, fallback))
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                breaker._on_exception(epoch, exc)
                raise
            next(breaker._successes)
            if breaker._consecutive:
                breaker._closed_outcome(epoch, failed=False)
            return result

        return wrapper

    def _wrap_async(
        self, fn: Callable[P, Awaitable[T]], fallback: Fallback | None
    ) -> Callable[P, Awaitable[T]]:
        breaker = self

        @functools.wraps(fn)
        async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
            epoch = breaker._fast_epoch
            if epoch is None:
                error = breaker._rejection()
                if error is not None:
                    if fallback is None:
                        raise error
                    value = fallback(error)
                    return cast(T, await value if inspect.isawaitable(value) else value)
                return cast(T, await breaker._acall_guarded(fn, args, kwargs, fallback))
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                breaker._on_exception(epoch, exc)
                raise
            next(breaker._successes)
            if breaker._consecutive:
                breaker._closed_outcome(epoch, failed=False)
            return result

        return wrapper
