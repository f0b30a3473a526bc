"""The timeline of one scenario run: breaker transitions, faults and requests in virtual time."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field


def seconds(value: float) -> str:
    """Virtual seconds as the reports print them: to the millisecond, trailing zeros dropped
    (``60s``, ``2.224s``, ``62.224s``), so times of one report line up in one precision."""
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return f"{'0' if text in ('', '-0') else text}s"


@dataclass(frozen=True)
class BreakerChange:
    """One breaker transition, ``at`` virtual seconds after the scenario started."""

    at: float
    breaker: str
    from_state: str
    to_state: str
    label: str = ""
    seq: int = 0  # order of recording across all marks (several can share one instant)
    #: ``at`` is when the change was seen (the breaker does not report its transitions):
    #: it happened at that time or before, after the previous look.
    seen: bool = False


@dataclass(frozen=True)
class FaultMark:
    """A fault injected into (or healed from) a provider."""

    at: float
    provider: str
    action: str
    seq: int = 0


@dataclass(frozen=True)
class RequestMark:
    """One request the scenario sent to the app and the status it was served."""

    at: float
    method: str
    path: str
    status: int
    seq: int = 0
    #: the app's ``X-Request-ID`` for it, when it returns one (to find it in logs and Sentry)
    request_id: str = ""
    cut: bool = False  # the app failed part-way through the body it began


@dataclass(frozen=True)
class Band:
    """A stretch of virtual time during which a breaker stayed in one state."""

    start: float
    end: float
    state: str


@dataclass
class Timeline:
    """Append-only record of what happened during a scenario, in virtual seconds.

    The engine records; renderers (text, HTML, JSON) read. Times are offsets from the start
    of the scenario so runs are comparable whatever the frozen wall clock says.
    """

    initial: dict[str, str] = field(default_factory=dict)
    changes: list[BreakerChange] = field(default_factory=list)
    faults: list[FaultMark] = field(default_factory=list)
    requests: list[RequestMark] = field(default_factory=list)
    end: float = 0.0

    @classmethod
    def starting(cls, states: Mapping[str, str]) -> Timeline:
        return cls(initial={name: str(state) for name, state in states.items()})

    @property
    def breakers(self) -> list[str]:
        names = list(self.initial)
        names.extend(c.breaker for c in self.changes if c.breaker not in self.initial)
        return list(dict.fromkeys(names))

    def breaker_changed(
        self,
        at: float,
        breaker: str,
        from_state: str,
        to_state: str,
        label: str = "",
        *,
        seen: bool = False,
    ) -> None:
        change = BreakerChange(
            at, breaker, str(from_state), str(to_state), label, self._next(), seen
        )
        self.changes.append(change)
        self._extend(at)

    def fault(self, at: float, provider: str, action: str) -> None:
        self.faults.append(FaultMark(at, provider, action, self._next()))
        self._extend(at)

    def request(
        self,
        at: float,
        method: str,
        path: str,
        status: int,
        request_id: str = "",
        *,
        cut: bool = False,
    ) -> None:
        self.requests.append(RequestMark(at, method, path, status, self._next(), request_id, cut))
        self._extend(at)

    def finish(self, at: float) -> None:
        self._extend(at)

    def _next(self) -> int:
        return len(self.changes) + len(self.faults) + len(self.requests)

    def _extend(self, at: float) -> None:
        self.end = max(self.end, at)

    def transitions(self, breaker: str) -> list[BreakerChange]:
        return [c for c in self.changes if c.breaker == breaker]

    def bands(self, breaker: str) -> list[Band]:
        """Consecutive state stretches for ``breaker`` covering ``[0, end]``."""
        state = self.initial.get(breaker, "CLOSED")
        start = 0.0
        out: list[Band] = []
        for change in self.transitions(breaker):
            # zero-length stays (OPEN -> HALF_OPEN -> OPEN in one instant) matter to the text
            # timeline but have no width in a picture
            if change.at > start:
                out.append(Band(start, change.at, state))
            state, start = change.to_state, change.at
        out.append(Band(start, max(self.end, start), state))
        return out

    def final_state(self, breaker: str) -> str:
        changes = self.transitions(breaker)
        return changes[-1].to_state if changes else self.initial.get(breaker, "CLOSED")

    def requests_by_status(self) -> dict[int, int]:
        return dict(sorted(Counter(r.status for r in self.requests).items()))

    def changed_breakers(self) -> list[str]:
        return [name for name in self.breakers if self.transitions(name)]


def status_summary(timeline: Timeline) -> str:
    """``200×3 (1 cut part-way), 503×2``: the requests served, by status."""
    counts = timeline.requests_by_status()
    if not counts:
        return "no requests"
    cut = Counter(r.status for r in timeline.requests if r.cut)
    return ", ".join(
        f"{status}×{n}" + (f" ({cut[status]} cut part-way)" if cut[status] else "")
        for status, n in counts.items()
    )


def change_times(timeline: Timeline, breaker: str) -> str:
    """``(at 0s, 60s, 60s)``: when each change happened; ``(seen at 3s, 13s)`` for changes only
    seen then (a breaker that reports no transitions: each happened by that time); empty
    without changes."""
    changes = timeline.transitions(breaker)
    if not changes:
        return ""
    times = [("seen at " if c.seen else "at ") + seconds(c.at) for c in changes]
    # One prefix for a run of the same kind: "(at 0s, 60s; seen at 75s)".
    runs: list[str] = []
    for text in times:
        kind, _, when = text.rpartition(" ")
        if runs and runs[-1].startswith(kind + " "):
            runs[-1] += f", {when}"
        else:
            runs.append(text)
    return f"({'; '.join(runs)})"


def breaker_line(timeline: Timeline, breaker: str) -> str:
    """``exotel CLOSED ─5 fails→ OPEN ─60s→ HALF_OPEN ─2 ok→ CLOSED``.

    Each arrow carries what caused the transition (``─→`` when the breaker does not say);
    when the cause is the passing of time (OPEN → HALF_OPEN) the label is the virtual time
    spent in the previous state.
    """
    parts = [breaker, timeline.initial.get(breaker, "CLOSED")]
    parts += [f"─{change.label}→ {change.to_state}" for change in timeline.transitions(breaker)]
    return " ".join(parts)
