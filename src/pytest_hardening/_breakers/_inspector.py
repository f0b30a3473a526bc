"""BreakerInspector: state, transitions, force/reset over an app's breakers, any library.

Each breaker's transitions are merged in its :class:`~._track.Track`; what a failure says is
worded in :mod:`._advice`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

from ._adapt import adapt_breaker, breaker_registry
from ._advice import (
    calls_lines,
    half_open_advice,
    history_text,
    problems_report,
    unknown_breaker,
    wrong_state,
)
from ._at_once import InAppLoop
from ._base import BreakerState
from ._track import Track

__all__ = ["BreakerInspector"]


class BreakerInspector:
    """Observe and steer named breakers; transitions are recorded from :meth:`start` on.

    ``breakers`` is a mapping name -> breaker, a purgatory circuit-breaker factory,
    circuitbreaker's ``CircuitBreakerMonitor``, or another registry (``items()``, or an
    iterable of named breakers). It is read live: breakers that appear later (purgatory creates
    circuits on first use) are picked up, as having started CLOSED; a registry with
    ``watch(callback) -> unwatch`` reports them as they are created. Transitions come from each
    library's listener API where it has one; otherwise (and in addition) from observing the
    state on every call of the inspector, around ``force_open``/``reset`` and on
    :meth:`advance`. ``in_app_loop`` runs an ``async def`` breaker's methods in the app's
    event loop (see :class:`~._at_once.AtOnce`).
    """

    def __init__(
        self,
        breakers: Any,
        *,
        history: int = 5,
        in_app_loop: InAppLoop | None = None,
        calls: Callable[[], str] | None = None,
        now: Callable[[], float | None] | None = None,
    ) -> None:
        self._registry = breaker_registry(breakers)
        #: When a transition is logged (a clock's time): a listener's is when it happened.
        self._now = now
        self._in_app_loop = in_app_loop  # where an async breaker's methods run
        #: The last provider calls, for failure messages: what the breaker met (or not).
        self._calls = calls
        self._tracks: dict[str, Track] = {}
        self._unwatch: Callable[[], None] | None = None
        self._lock = threading.RLock()
        self._history = history
        self._started = False
        self._errors: list[str] = []
        self.last_read: str | None = None  # the breaker of the latest state(): for assert output
        self._refresh()  # an unsupported breaker fails here, with the protocol in the message

    # -- registry ------------------------------------------------------------------------------

    def _refresh(self, *_: Any) -> None:
        with self._lock:
            for name in self._registry.names():
                source = self._registry.get(name)
                track = self._tracks.get(name)
                if source is None or (track is not None and track.source is source):
                    continue
                if track is not None and track.unsubscribe is not None:
                    track.unsubscribe()
                self._tracks[name] = self._track_for(name, source, track)

    def _track_for(self, name: str, source: Any, before: Track | None = None) -> Track:
        """A track of ``source``, the breaker the registry names ``name`` now. ``before``: the
        track of the object it named until now (a registry that hands out a new wrapper at
        each read, or a breaker made again): its history goes on under the name, and a
        change of state since is a transition."""
        adapter = adapt_breaker(source, in_app_loop=self._in_app_loop)
        track = Track(source, adapter, now=self._now)
        if before is not None:
            track.log, track.times, track.observed = before.log, before.times, before.observed
        if self._started:
            # Appeared during the test, so created during it: it started CLOSED.
            track.last = before.last if before is not None else BreakerState.CLOSED
            self._observe(name, track)
            self._subscribe(name, track)
        else:
            track.last = track.read(name)
        return track

    def _subscribe(self, name: str, track: Track) -> None:
        subscribe = getattr(track.adapter, "subscribe", None)
        if callable(subscribe):
            track.unsubscribe = subscribe(self._recorder(name))

    def _track(self, name: str, *, create: bool = False) -> Track:
        self._refresh()
        make = getattr(self._registry, "create", None)
        if name not in self._tracks and create and callable(make):
            self._tracks[name] = self._track_for(name, make(name))
        try:
            return self._tracks[name]
        except KeyError:
            raise KeyError(unknown_breaker(name, self.names)) from None

    @property
    def names(self) -> list[str]:
        self._refresh()
        return sorted(self._tracks)

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def __contains__(self, name: object) -> bool:
        return name in self.names

    # -- recording -----------------------------------------------------------------------------

    def start(self, *, reset: bool = True) -> BreakerInspector:
        """Reset every breaker (unless told not to) and start recording transitions."""
        self._refresh()
        for name, track in self._tracks.items():
            track.last = track.read(name, reset=reset)
            self._subscribe(name, track)
        self._started = True
        watch = getattr(self._registry, "watch", None)
        if callable(watch):  # learn of new breakers as they are created, not when next asked
            self._unwatch = watch(self._refresh)
        return self

    def stop(self) -> None:
        self._started = False
        unwatch, self._unwatch = self._unwatch, None
        if unwatch is not None:
            unwatch()
        for track in self._tracks.values():
            unsubscribe, track.unsubscribe = track.unsubscribe, None
            if unsubscribe is not None:
                unsubscribe()

    def _recorder(self, name: str) -> Callable[[Any, Any], None]:
        def record(from_state: Any, to_state: Any) -> None:
            try:
                self._record(name, BreakerState.parse(from_state), BreakerState.parse(to_state))
            except Exception as exc:  # runs inside the app's request: never raise there
                with self._lock:
                    self._errors.append(f"recording a transition of {name!r}: {exc!r}")

        return record

    def _record(self, name: str, from_state: BreakerState, to_state: BreakerState) -> None:
        with self._lock:
            self._tracks[name].record(from_state, to_state)

    def _observe(self, name: str, track: Track) -> BreakerState:
        state = BreakerState.parse(track.adapter.state())
        with self._lock:
            track.see(state)
        return state

    # -- reading and steering ------------------------------------------------------------------

    def state(self, name: str) -> BreakerState:
        state = self._observe(name, self._track(name))
        self.last_read = name
        return state

    def reports_transitions(self, name: str) -> bool:
        """Whether the breaker reports its transitions as they happen (a listener); if not,
        a change is seen only when the inspector next reads its state, so the time it is
        recorded at is when it was seen, not when it happened."""
        return callable(getattr(self._track(name).adapter, "subscribe", None))

    def explain(self, expected: Any) -> list[str]:
        """Lines for a failed ``assert breakers.state(name) == expected``: the breaker read last,
        its state and recent transitions (pytest's assertion output shows them)."""
        name = self.last_read
        if name is None:
            return []
        try:
            actual = BreakerState.parse(self._track(name).adapter.state())
        except Exception:  # an explanation must not fail the report
            return []
        wanted = str(expected.value if isinstance(expected, BreakerState) else expected)
        # What to do first: pytest cuts an explanation to its first lines unless -vv.
        return [
            f"breaker {name!r} is {actual.value}, expected {wanted}",
            *self._on_call_note(name, actual, wanted),
            "recent transitions:",
            *self.history(name).splitlines(),
            *self._recent_calls(),
        ]

    def _recent_calls(self) -> list[str]:
        return calls_lines(self._calls() if self._calls is not None else "")

    def _on_call_note(self, name: str, actual: BreakerState, wanted: object) -> list[str]:
        wanted = str(getattr(wanted, "value", wanted)).upper()
        if actual is BreakerState.CLOSED and wanted == "OPEN":
            never_opens = getattr(self._track(name).adapter, "never_opens", None)
            return list(never_opens()) if callable(never_opens) else []
        if actual is not BreakerState.OPEN or wanted != "HALF_OPEN":
            return []
        return half_open_advice(getattr(self._track(name).adapter, "half_open_on_call", None))

    def transitions(self, name: str) -> list[tuple[str, str]]:
        track = self._track(name)
        self._observe(name, track)  # lets lazy breakers apply a due OPEN -> HALF_OPEN first
        with self._lock:
            return list(track.log)

    def transition_times(self, name: str) -> list[float | None]:
        """When each of :meth:`transitions` was logged, by the ``now`` given (None without
        one): the moment it happened for a breaker that :meth:`reports_transitions`, the moment
        it was seen for others."""
        track = self._track(name)
        with self._lock:
            return list(track.times)

    def all_transitions(self) -> dict[str, list[tuple[str, str]]]:
        self._refresh()
        for name, track in list(self._tracks.items()):
            try:
                self._observe(name, track)
            except Exception as exc:  # a report must not fail on one odd breaker
                self._errors.append(f"reading the state of {name!r}: {exc!r}")
        with self._lock:
            return {name: list(t.log) for name, t in self._tracks.items() if t.log}

    def force_open(self, name: str) -> None:
        """Open the breaker now (a purgatory circuit not used yet is created first)."""
        track = self._track(name, create=True)
        self._observe(name, track)
        track.adapter.force_open()
        self._observe(name, track)

    def reset(self, name: str | None = None) -> None:
        """Close the breaker(s) and forget their recorded transitions."""
        for key in [name] if name is not None else self.names:
            track = self._track(key)
            state = track.read(key, reset=True)
            with self._lock:
                track.forget(state)

    def advance(self, seconds: float) -> None:
        """Move breakers that run on their own clock: calls ``advance(seconds)`` on every
        adapter that has one (breakers on real or frozen time follow ``clock`` by themselves).

        Then every breaker is looked at (``clock.advance`` calls this): one whose state moves
        with time alone (circuitbreaker, a hand-written breaker reporting HALF_OPEN once its
        timeout has passed) is recorded as it moves, before a probe can move it on."""
        for track in list(self._tracks.values()):
            advance = getattr(track.adapter, "advance", None)
            if callable(advance):
                advance(seconds)
        if not self._started:
            return
        for name, track in list(self._tracks.items()):
            try:
                self._observe(name, track)
            except Exception as exc:  # the clock must move whatever one odd breaker does
                self._errors.append(f"reading the state of {name!r}: {exc!r}")

    def look(self) -> None:
        """Read every breaker that reports no transitions of its own (no listener): a change
        since the last look is recorded now, not merged with the next one into a move no
        breaker makes (CLOSED -> HALF_OPEN). Called before the clock moves and after each
        request of the hardened client."""
        if not self._started:
            return
        for name, track in list(self._tracks.items()):
            if track.unsubscribe is not None:
                continue  # its listener reports every change as it happens
            try:
                self._observe(name, track)
            except Exception as exc:  # a request or the clock must go on whatever one does
                self._errors.append(f"reading the state of {name!r}: {exc!r}")

    def problems(self) -> list[str]:
        """Errors caught inside library callbacks (they never reach the app)."""
        found = [*self._errors, *getattr(self._registry, "errors", ())]
        for track in self._tracks.values():
            found.extend(getattr(track.adapter, "errors", ()))
        return found

    def problems_report(self) -> str | None:
        """A teardown message for :meth:`problems`, or ``None``."""
        return problems_report(self.problems())

    def history(self, name: str) -> str:
        return history_text(name, self.transitions(name)[-self._history :])

    def assert_state(self, name: str, expected: str) -> None:
        __tracebackhide__ = True
        actual = self.state(name)
        wanted = BreakerState.parse(expected)
        if actual != wanted:
            notes = [*self._recent_calls(), *self._on_call_note(name, actual, wanted)]
            raise AssertionError(wrong_state(name, wanted, actual, self.history(name), notes))
