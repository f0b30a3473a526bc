"""BreakerInspector: state, transitions, force/reset over an app's breakers, any library."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._adapt import adapt_breaker, breaker_registry
from ._at_once import InAppLoop
from ._base import BreakerAdapter, BreakerState, unreadable

__all__ = ["BreakerInspector"]


@dataclass
class _Track:
    source: Any
    adapter: BreakerAdapter
    log: list[tuple[str, str]] = field(default_factory=list)
    #: When each entry of ``log`` was logged (the inspector's ``now``; None without one).
    times: list[float | None] = field(default_factory=list)
    last: BreakerState | None = None
    unsubscribe: Callable[[], None] | None = None
    #: The latest logged transition, when a look (not a listener) logged it: a listener's
    #: report of that change arriving after the look is the same change, not a new one.
    observed: tuple[BreakerState, BreakerState] | None = None


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
        self._tracks: dict[str, _Track] = {}
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

    def _track_for(self, name: str, source: Any, before: _Track | None = None) -> _Track:
        """A track of ``source``, the breaker the registry names ``name`` now. ``before``: the
        track of the object it named until now (a registry that hands out a new wrapper at
        each read, or a breaker made again): its history goes on under the name, and a
        change of state since is a transition."""
        track = _Track(source, adapt_breaker(source, in_app_loop=self._in_app_loop))
        if before is not None:
            track.log, track.times, track.observed = before.log, before.times, before.observed
        if self._started:
            # Appeared during the test, so created during it: it started CLOSED.
            track.last = before.last if before is not None else BreakerState.CLOSED
            self._observe(name, track)
            self._subscribe(name, track)
        else:
            track.last = _read(name, track)
        return track

    def _subscribe(self, name: str, track: _Track) -> None:
        subscribe = getattr(track.adapter, "subscribe", None)
        if callable(subscribe):
            track.unsubscribe = subscribe(self._recorder(name))

    def _track(self, name: str, *, create: bool = False) -> _Track:
        self._refresh()
        make = getattr(self._registry, "create", None)
        if name not in self._tracks and create and callable(make):
            self._tracks[name] = self._track_for(name, make(name))
        try:
            return self._tracks[name]
        except KeyError:
            raise KeyError(
                f"no breaker named {name!r}; breakers: {self.names}. A breaker the app makes on "
                "first use (at its first request) is there once a request made it, read through "
                "a live registry (docs/fixtures.md, `breakers`): send that request first"
            ) from None

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
            track.last = _read(name, track, reset=reset)
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
            track = self._tracks[name]
            observed, track.observed = track.observed, None
            if to_state == track.last:
                if from_state == to_state or observed == (from_state, to_state):
                    return  # no change, or the change a look already logged
                # Left the state last seen and came back unseen: circuitbreaker reports
                # HALF_OPEN on reading once its timeout has passed, and a failed probe reports
                # HALF_OPEN -> OPEN while the last look saw OPEN.
                self._log(track, (to_state.value, from_state.value))
                self._log(track, (from_state.value, to_state.value))
                return
            if track.last is not None and from_state != track.last:
                self._log(track, (track.last.value, from_state.value))  # seen in between
            if from_state != to_state:
                self._log(track, (from_state.value, to_state.value))
            track.last = to_state

    def _log(self, track: _Track, change: tuple[str, str]) -> None:
        track.log.append(change)
        track.times.append(self._now() if self._now is not None else None)

    def _observe(self, name: str, track: _Track) -> BreakerState:
        state = BreakerState.parse(track.adapter.state())
        with self._lock:
            if track.last is not None and state != track.last:
                self._log(track, (track.last.value, state.value))
                track.observed = (track.last, state)
            track.last = state
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
        recent = self._calls() if self._calls is not None else ""
        return ["recent provider calls:", *recent.splitlines()] if recent else []

    def _on_call_note(self, name: str, actual: BreakerState, wanted: object) -> list[str]:
        wanted = str(getattr(wanted, "value", wanted)).upper()
        if actual is BreakerState.CLOSED and wanted == "OPEN":
            never_opens = getattr(self._track(name).adapter, "never_opens", None)
            return list(never_opens()) if callable(never_opens) else []
        if actual is not BreakerState.OPEN or wanted != "HALF_OPEN":
            return []
        library = getattr(self._track(name).adapter, "half_open_on_call", None)
        if library:
            return [
                f"{library} moves OPEN -> HALF_OPEN on the first call after its open timeout, "
                "not when the timeout passes: make that call (the probe) first, then read the "
                "state"
            ]
        # A breaker of the project's own, read by its state alone: many move to HALF_OPEN
        # inside their call(), as the libraries do.
        return [
            "if this breaker moves OPEN -> HALF_OPEN in its own call() once the open timeout "
            "has passed (as pybreaker and many hand-written ones do), make that call (the "
            "probe) first, then read the state; if it reads the time to decide, check that "
            "the clock moved past the timeout (clock.advance) and that it reads time through a "
            "module the clock reaches"
        ]

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
            state = _read(key, track, reset=True)
            with self._lock:
                track.log.clear()
                track.times.clear()
                track.last = state
                track.observed = None

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
        found = self.problems()
        if not found:
            return None
        lines = "\n".join(f"  {p}" for p in found)
        return (
            f"breakers: {len(found)} error(s) in breaker callbacks were caught inside the app's "
            f"requests (the app did not see them); transitions may be missing:\n{lines}"
        )

    def history(self, name: str) -> str:
        recent = self.transitions(name)[-self._history :]
        if not recent:
            return f"  (no transitions of {name})"
        return "\n".join(f"  {a} -> {b}" for a, b in recent)

    def assert_state(self, name: str, expected: str) -> None:
        __tracebackhide__ = True
        actual = self.state(name)
        wanted = BreakerState.parse(expected)
        if actual != wanted:
            lines = [*self._recent_calls(), *self._on_call_note(name, actual, wanted)]
            note = "".join(f"\n{line}" for line in lines)
            raise AssertionError(
                f"breaker {name!r}: expected {wanted.value}, "
                f"actual {actual.value}.\nrecent transitions:\n{self.history(name)}{note}"
            )


def _read(name: str, track: _Track, *, reset: bool = False) -> BreakerState:
    """The breaker's state, after closing it (``reset``); its store's error says so."""
    try:
        if reset:
            track.adapter.reset()
        return BreakerState.parse(track.adapter.state())
    except Exception as exc:
        raise unreadable(name, track.source, "close" if reset else "read", exc) from exc
