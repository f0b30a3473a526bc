"""What the breaker inspector says when a test's check fails: the state found and the one
expected, the recent transitions, why a breaker may not have moved yet and what to do first,
a breaker name it does not know; and, at teardown, the errors its callbacks caught inside the
app's requests.

The wording, apart from :class:`~._inspector.BreakerInspector`, which reads the breakers and
decides which of these apply.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from ._base import BreakerState

__all__ = [
    "calls_lines",
    "half_open_advice",
    "history_text",
    "problems_report",
    "unknown_breaker",
    "wrong_state",
]


def half_open_advice(library: str | None) -> list[str]:
    """For a breaker found OPEN where HALF_OPEN was expected; ``library``: the adapter's
    ``half_open_on_call`` (a library that moves only on the next call), if any."""
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


def calls_lines(recent: str) -> list[str]:
    """The last provider calls (what the breaker met, or not), under a heading; none: none."""
    return ["recent provider calls:", *recent.splitlines()] if recent else []


def history_text(name: str, recent: Sequence[tuple[str, str]]) -> str:
    if not recent:
        return f"  (no transitions of {name})"
    return "\n".join(f"  {a} -> {b}" for a, b in recent)


def wrong_state(
    name: str, wanted: BreakerState, actual: BreakerState, history: str, notes: Sequence[str]
) -> str:
    """The message of a failed ``assert_state``."""
    note = "".join(f"\n{line}" for line in notes)
    return (
        f"breaker {name!r}: expected {wanted.value}, "
        f"actual {actual.value}.\nrecent transitions:\n{history}{note}"
    )


def unknown_breaker(name: str, names: list[str]) -> str:
    """The message for a breaker ``name`` not among ``names`` (those the registry has now)."""
    close = difflib.get_close_matches(name, names, n=1)
    if close:  # a typo: the advice about breakers made later does not apply
        return f"no breaker named {name!r}; breakers: {names}: did you mean {close[0]!r}?"
    return (
        f"no breaker named {name!r}; breakers: {names}. A breaker the app makes on "
        "first use (at its first request) is there once a request made it, read through "
        "a live registry (docs/fixtures.md, `breakers`): send that request first"
    )


def problems_report(found: Sequence[str]) -> str | None:
    """A teardown message for errors caught inside library callbacks, or ``None``."""
    if not found:
        return None
    lines = "\n".join(f"  {p}" for p in found)
    return (
        f"breakers: {len(found)} error(s) in breaker callbacks were caught inside the app's "
        f"requests (the app did not see them); transitions may be missing:\n{lines}"
    )
