"""The breaker's state machine: admission, outcomes, transitions, control, metrics.

:class:`StateMachine` knows tickets and outcomes (success, failure, neutral), never the call or
its exception: :class:`~reference_app.resilience.CircuitBreaker` classifies the outcome of each
call and reports it here. Its attributes without an underscore are that interface.

Concurrency: every state change happens under one ``threading.Lock`` that is never held across
user code or listeners (the :class:`TransitionLog` tells them after the lock is released). Two
paths read without the lock on purpose, because they are the hot paths: CLOSED admission
(``closed_epoch``) and the OPEN rejection. A racing reader can at worst see a state one
transition old; outcomes carry the epoch (or probe permit) they were admitted under, and
outcomes from an older epoch never move the state.

Clock: a monotonic clock never goes backwards, but a swapped one can (freezegun started or
stopped while a breaker is open). A deadline further away than its own timeout is treated as
such a jump: the open deadline is re-anchored to ``now + open_timeout`` and a probe permit is
reclaimed, so no clock change keeps a breaker open or a permit held longer than its timeout.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Final

from ._errors import CircuitOpenError
from ._metrics import BreakerMetrics, Counts
from ._policy import TripPolicy
from ._probes import Probe, ProbePermits
from ._state import State, Transition
from ._transition_log import Listener, TransitionLog

__all__ = ["StateMachine", "Ticket"]

_CLOSED: Final = State.CLOSED
_OPEN: Final = State.OPEN
_HALF_OPEN: Final = State.HALF_OPEN


#: What admission hands out: the CLOSED epoch (an int) or a HALF_OPEN probe permit.
Ticket = int | Probe


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}es" if word.endswith("s") else f"{n} {word}s"


class StateMachine:
    """CLOSED → OPEN → HALF_OPEN → CLOSED for one breaker (see ``CircuitBreaker`` for the rules).

    Read without the lock by the call path: ``closed_epoch`` (the current CLOSED epoch, or
    ``None`` when not CLOSED), ``consecutive`` (failures in a row while CLOSED), ``policy`` and
    ``counts``. Everything else goes through the methods.
    """

    __slots__ = (
        "_clock",
        "_epoch",
        "_lock",
        "_log",
        "_open_until",
        "_probe_successes",
        "_probes",
        "_state",
        "closed_epoch",
        "consecutive",
        "counts",
        "failure_threshold",
        "half_open_max_calls",
        "name",
        "open_timeout",
        "policy",
        "probe_timeout",
        "success_threshold",
    )

    def __init__(
        self,
        name: str,
        *,
        failure_threshold: int,
        success_threshold: int,
        open_timeout: float,
        half_open_max_calls: int,
        probe_timeout: float | None,
        trip_policy: TripPolicy | None,
        clock: Callable[[], float] | None,
        history: int,
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
        self.policy = trip_policy
        self._clock = clock
        self._lock = threading.Lock()
        self._state = _CLOSED
        self._epoch = 0
        self.closed_epoch: int | None = 0
        self._open_until = 0.0
        self._probes = ProbePermits(half_open_max_calls, self.probe_timeout)
        self._probe_successes = 0
        self.consecutive = 0
        self.counts = Counts()
        self._log = TransitionLog(name, history, self._lock)

    def _now(self) -> float:
        clock = self._clock
        # Looked up at call time so freezegun (which patches time.monotonic) moves it.
        return time.monotonic() if clock is None else clock()

    # -- transitions (caller holds the lock) ---------------------------------------------------

    def _move(self, to: State, reason: str, now: float) -> Transition:
        record = Transition(self._state, to, reason, now, time.time(), self.name)
        # Invalidate lock-free admission first so racing readers stop using the old epoch.
        self.closed_epoch = None
        self._epoch += 1
        self._state = to
        self._probes.clear()
        self._probe_successes = 0
        if to is _CLOSED:
            self.consecutive = 0
            if self.policy is not None:
                self.policy.reset()
            self.closed_epoch = self._epoch
        elif to is _OPEN:
            self._open_until = now + self.open_timeout
        self._log.append(record)
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

    # -- admission -----------------------------------------------------------------------------

    def admit(self) -> Ticket | CircuitOpenError:
        """A ticket for one call, or the rejection (returned, for the caller to raise)."""
        epoch = self.closed_epoch
        if epoch is not None:
            return epoch  # CLOSED: lock-free
        clock = self._clock
        now = time.monotonic() if clock is None else clock()  # self._now(), inlined: hot path
        if self._state is _OPEN:
            remaining = self._open_until - now
            if 0.0 < remaining <= self.open_timeout:  # lock-free; else due, or clock went back
                next(self.counts.rejections)
                return CircuitOpenError(self.name, remaining)
        with self._lock:
            moved = self._maybe_half_open(now)
            state = self._state
            ticket: Ticket | CircuitOpenError
            if state is _CLOSED:
                ticket = self._epoch
            else:
                permit = self._probes.acquire(now) if state is _HALF_OPEN else None
                if isinstance(permit, Probe):
                    ticket = permit
                else:
                    retry_after = self._open_until - now if permit is None else permit
                    ticket = CircuitOpenError(self.name, retry_after)
                    next(self.counts.rejections)
        self._log.notify(moved)
        return ticket

    # -- outcomes ------------------------------------------------------------------------------

    def succeeded(self, ticket: Ticket) -> None:
        next(self.counts.successes)
        if isinstance(ticket, int):
            if self.consecutive or self.policy is not None:
                self._closed_outcome(ticket, failed=False)
            return
        moved = None
        with self._lock:
            if self._probes.release(ticket):
                self._probe_successes += 1
                if self._probe_successes >= self.success_threshold:
                    n = self._probe_successes
                    moved = self._move(_CLOSED, _plural(n, "probe success"), self._now())
        self._log.notify(moved)

    def failed(self, ticket: Ticket) -> None:
        if isinstance(ticket, int):
            self._closed_outcome(ticket, failed=True)
            return
        moved = None
        with self._lock:
            now = self._record_failure()
            if self._probes.holds(ticket):
                moved = self._move(_OPEN, "probe failed", now)
        self._log.notify(moved)

    def neutral(self, ticket: Ticket) -> None:
        """Neither success nor failure (ignored exception, cancellation): a probe's permit is
        given back."""
        next(self.counts.ignored)
        if not isinstance(ticket, int):
            with self._lock:
                self._probes.release(ticket)

    def _record_failure(self) -> float:
        now = self._now()
        self.counts.failed(now)
        return now

    def _closed_outcome(self, epoch: int, *, failed: bool) -> None:
        """A CLOSED outcome that may move the state (a failure, or a success ending a streak)."""
        moved = None
        with self._lock:
            now = self._record_failure() if failed else 0.0
            reason = None
            if epoch != self.closed_epoch:
                pass  # admitted under an older epoch: counted above, but moves nothing
            elif not failed:
                self.consecutive = 0
                if self.policy is not None:
                    reason = self.policy.record(False)
                    now = self._now()
            else:
                self.consecutive += 1
                if self.policy is not None:
                    reason = self.policy.record(True)
                elif self.consecutive >= self.failure_threshold:
                    reason = f"{self.consecutive} consecutive failures"
            if reason is not None:
                moved = self._move(_OPEN, reason, now)
        self._log.notify(moved)

    # -- inspection and control ----------------------------------------------------------------

    @property
    def state(self) -> State:
        if self._state is _OPEN:
            with self._lock:
                moved = self._maybe_half_open(self._now())
            self._log.notify(moved)
        return self._state

    def peek(self) -> State:
        """The state as last recorded, without applying a due OPEN → HALF_OPEN (for repr)."""
        return self._state

    @property
    def transitions(self) -> tuple[Transition, ...]:
        with self._lock:
            return self._log.recent()

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        return self._log.add_listener(listener)

    def force_open(self) -> None:
        with self._lock:
            now = self._now()
            moved = None
            if self._state is _OPEN:
                self._open_until = now + self.open_timeout
            else:
                moved = self._move(_OPEN, "forced", now)
        self._log.notify(moved)

    def reset(self, *, clear_history: bool) -> None:
        with self._lock:
            moved = None
            if self._state is not _CLOSED:
                moved = self._move(_CLOSED, "reset", self._now())
            else:
                self.consecutive = 0
                if self.policy is not None:
                    self.policy.reset()
            self.counts = Counts()
            if clear_history:
                self._log.clear()
        self._log.notify(moved)

    def metrics(self) -> BreakerMetrics:
        self.state  # noqa: B018 - applies a due OPEN -> HALF_OPEN first
        with self._lock:
            now = self._now()
            state = self._state
            next_probe_at: float | None = None
            if state is _OPEN:
                next_probe_at = self._open_until
            elif state is _HALF_OPEN:
                next_probe_at = self._probes.next_free_at(now)
            return self.counts.snapshot(
                self.name,
                state,
                consecutive=self.consecutive,
                now=now,
                next_probe_at=next_probe_at,
                probes_in_flight=len(self._probes),
                transitions=self._log.recent(),
            )
