"""The breaker state machine: admission, outcome recording, transitions, listeners, metrics.

Concurrency model: every state change happens under one ``threading.Lock`` that is never held
across user code or listeners. Two paths read without the lock on purpose, because they are the
hot paths: the CLOSED success path (``_fast_epoch``) and the OPEN rejection path. A racing reader
can at worst see a state that is one transition old; outcomes are tagged with the epoch (or probe
permit) they were admitted under, and outcomes from an older epoch never move the state.

Clock: a monotonic clock never goes backwards, but a swapped one can (freezegun started or
stopped while a breaker is open). A deadline further away than its own timeout is treated as
such a jump: the open deadline is re-anchored to ``now + open_timeout`` and a probe permit is
reclaimed, so no clock change can keep a breaker open or a permit held for longer than its timeout.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Final

from ._errors import CircuitOpenError
from ._policy import TripPolicy
from ._state import State, Transition

__all__: list[str] = []

_log = logging.getLogger("reference_app.resilience")

_CLOSED: Final = State.CLOSED
_OPEN: Final = State.OPEN
_HALF_OPEN: Final = State.HALF_OPEN

Listener = Callable[[Transition], None]


class _Probe:
    """A HALF_OPEN permit; it expires at ``deadline`` if its call never completes."""

    __slots__ = ("deadline",)

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline


# What ``_admit`` hands back: the CLOSED epoch (int), a probe permit, or the rejection.
Ticket = int | _Probe


def _count_value(counter: itertools.count[int]) -> int:
    # itertools.count's next() is atomic under the GIL and cheaper than a lock; its repr is
    # the only public way to read it without incrementing ("count(42)").
    return int(repr(counter)[6:-1])


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}es" if word.endswith("s") else f"{n} {word}s"


class _BreakerCore:
    __slots__ = (
        "__weakref__",
        "_clock",
        "_closed_epoch",
        "_consecutive",
        "_epoch",
        "_failure_on",
        "_failures",
        "_fast_epoch",
        "_ignore",
        "_ignored",
        "_is_failure_exception",
        "_is_failure_result",
        "_last_failure_at",
        "_last_failure_wall",
        "_listeners",
        "_lock",
        "_open_until",
        "_policy",
        "_probe_successes",
        "_probes",
        "_rejections",
        "_simple",
        "_state",
        "_successes",
        "_transitions",
        "failure_threshold",
        "half_open_max_calls",
        "name",
        "open_timeout",
        "probe_timeout",
        "success_threshold",
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
        for label, value in (
            ("failure_threshold", failure_threshold),
            ("success_threshold", success_threshold),
            ("half_open_max_calls", half_open_max_calls),
            ("history", history),
        ):
            if value < 1:
                raise ValueError(f"{label} must be >= 1, got {value}")
        probe_timeout = open_timeout if probe_timeout is None else probe_timeout
        for label, seconds in (("open_timeout", open_timeout), ("probe_timeout", probe_timeout)):
            if not (seconds > 0 and math.isfinite(seconds)):
                raise ValueError(f"{label} must be a positive number of seconds, got {seconds}")
        self.name = name
        self.failure_threshold = failure_threshold
        self.success_threshold = success_threshold
        self.open_timeout = float(open_timeout)
        self.half_open_max_calls = half_open_max_calls
        self.probe_timeout = float(probe_timeout)
        self._failure_on = tuple(failure_on)
        # Cancellation is always neutral, whatever failure_on says.
        self._ignore: tuple[type[BaseException], ...] = (asyncio.CancelledError, *ignore)
        self._is_failure_result = is_failure_result
        self._is_failure_exception = is_failure_exception
        self._policy = trip_policy
        self._clock = clock
        # "simple" breakers (no result predicate, no custom policy) get the lock-free fast path.
        self._simple = is_failure_result is None and trip_policy is None
        self._lock = threading.Lock()
        self._state = _CLOSED
        self._epoch = 0
        self._closed_epoch: int | None = 0
        self._fast_epoch: int | None = 0 if self._simple else None
        self._open_until = 0.0
        self._probes: set[_Probe] = set()
        self._probe_successes = 0
        self._consecutive = 0
        self._failures = 0
        self._successes = itertools.count()
        self._rejections = itertools.count()
        self._ignored = itertools.count()
        self._last_failure_at: float | None = None
        self._last_failure_wall: float | None = None
        self._transitions: deque[Transition] = deque(maxlen=history)
        self._listeners: tuple[Listener, ...] = ()

    def __repr__(self) -> str:
        return f"<CircuitBreaker {self.name!r} {self._state.value}>"

    # -- clock ---------------------------------------------------------------------------------

    def _now(self) -> float:
        clock = self._clock
        # Looked up at call time so freezegun (which patches time.monotonic) moves it.
        return time.monotonic() if clock is None else clock()

    # -- transitions (caller holds the lock) ---------------------------------------------------

    def _move(self, to: State, reason: str, now: float) -> Transition:
        record = Transition(self._state, to, reason, now, time.time(), self.name)
        # Invalidate the fast path first so racing readers stop using the old epoch.
        self._fast_epoch = None
        self._closed_epoch = None
        self._epoch += 1
        self._state = to
        self._probes.clear()
        self._probe_successes = 0
        if to is _CLOSED:
            self._consecutive = 0
            if self._policy is not None:
                self._policy.reset()
            self._closed_epoch = self._epoch
            if self._simple:
                self._fast_epoch = self._epoch
        elif to is _OPEN:
            self._open_until = now + self.open_timeout
        self._transitions.append(record)
        return record

    def _maybe_half_open(self, now: float) -> Transition | None:
        if self._state is not _OPEN:
            return None
        if now >= self._open_until:
            return self._move(_HALF_OPEN, "open timeout elapsed", now)
        if self._open_until - now > self.open_timeout:
            # The clock went backwards (e.g. freezegun stopped after the breaker opened under
            # frozen time): re-anchor, so the breaker stays open at most open_timeout from now.
            self._open_until = now + self.open_timeout
        return None

    def _notify(self, *records: Transition | None) -> None:
        for record in records:
            if record is None:
                continue
            for listener in self._listeners:
                try:
                    listener(record)
                except Exception:
                    # A broken listener must never break the breaker or the protected call.
                    _log.exception("circuit breaker %r: listener %r failed", self.name, listener)

    # -- admission -----------------------------------------------------------------------------

    def _rejection(self) -> CircuitOpenError | None:
        """The lock-free OPEN rejection (a hot path), or ``None``: then go through ``_admit``."""
        if self._state is _OPEN:
            clock = self._clock
            now = time.monotonic() if clock is None else clock()
            remaining = self._open_until - now
            if 0.0 < remaining <= self.open_timeout:  # else: due, or the clock went backwards
                next(self._rejections)
                return CircuitOpenError(self.name, remaining)
        return None

    def _admit(self, now: float) -> Ticket | CircuitOpenError:
        """Admit a call that missed both lock-free paths, or return the rejection."""
        with self._lock:
            moved = self._maybe_half_open(now)
            state = self._state
            ticket: Ticket | CircuitOpenError
            if state is _CLOSED:
                ticket = self._epoch
            elif state is _HALF_OPEN:
                ticket = self._acquire_probe(now)
            else:
                ticket = CircuitOpenError(self.name, self._open_until - now)
            if ticket.__class__ is CircuitOpenError:
                next(self._rejections)
        self._notify(moved)
        return ticket

    def _acquire_probe(self, now: float) -> _Probe | CircuitOpenError:
        probes = self._probes
        if len(probes) >= self.half_open_max_calls:
            # A probe that never completes must not hold its permit forever.
            timeout = self.probe_timeout
            # Expired, or the clock went backwards past its start: either way, reclaim it.
            for probe in [p for p in probes if not 0.0 < p.deadline - now <= timeout]:
                probes.discard(probe)
        if len(probes) < self.half_open_max_calls:
            probe = _Probe(now + self.probe_timeout)
            probes.add(probe)
            return probe
        return CircuitOpenError(self.name, min(p.deadline for p in probes) - now)

    # -- outcomes ------------------------------------------------------------------------------

    def _is_failure(self, exc: BaseException) -> bool:
        if isinstance(exc, self._ignore):
            return False
        if not isinstance(exc, self._failure_on):
            return False
        predicate = self._is_failure_exception
        return predicate is None or bool(predicate(exc))

    def _on_exception(self, ticket: Ticket, exc: BaseException) -> None:
        if self._is_failure(exc):
            self._on_failure(ticket)
        else:
            self._on_neutral(ticket)

    def _on_result(self, ticket: Ticket, result: object) -> None:
        predicate = self._is_failure_result
        if predicate is not None and predicate(result):
            self._on_failure(ticket)
        else:
            self._on_success(ticket)

    def _on_success(self, ticket: Ticket) -> None:
        next(self._successes)
        if ticket.__class__ is int:
            if self._consecutive or self._policy is not None:
                self._closed_outcome(ticket, failed=False)
            return
        moved = None
        with self._lock:
            if ticket in self._probes:
                self._probes.discard(ticket)
                self._probe_successes += 1
                if self._probe_successes >= self.success_threshold:
                    n = self._probe_successes
                    moved = self._move(_CLOSED, _plural(n, "probe success"), self._now())
        self._notify(moved)

    def _on_failure(self, ticket: Ticket) -> None:
        if ticket.__class__ is int:
            self._closed_outcome(ticket, failed=True)
            return
        moved = None
        with self._lock:
            now = self._record_failure_time()
            if ticket in self._probes:
                moved = self._move(_OPEN, "probe failed", now)
        self._notify(moved)

    def _on_neutral(self, ticket: Ticket) -> None:
        next(self._ignored)
        if ticket.__class__ is not int:
            with self._lock:
                self._probes.discard(ticket)

    def _record_failure_time(self) -> float:
        now = self._now()
        self._failures += 1
        self._last_failure_at = now
        self._last_failure_wall = time.time()
        return now

    def _closed_outcome(self, epoch: int, *, failed: bool) -> None:
        moved = None
        with self._lock:
            now = self._record_failure_time() if failed else 0.0
            if epoch != self._closed_epoch:
                pass  # admitted under an older epoch: counted above, but moves nothing
            elif not failed:
                self._consecutive = 0
                if self._policy is not None:
                    reason = self._policy.record(False)
                    if reason is not None:
                        moved = self._move(_OPEN, reason, self._now())
            else:
                self._consecutive += 1
                if self._policy is not None:
                    reason = self._policy.record(True)
                elif self._consecutive >= self.failure_threshold:
                    reason = f"{self._consecutive} consecutive failures"
                else:
                    reason = None
                if reason is not None:
                    moved = self._move(_OPEN, reason, now)
        self._notify(moved)
