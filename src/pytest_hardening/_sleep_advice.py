"""The ``RealSleepWarning``s of the ``clock`` and ``faults`` fixtures: what the test waited
for in real time, where, and what to do about it.

Only the sleeps of the threads that serve the test are warned of (see :mod:`._virtual_time`):
a background thread's (a library's poller) are its own timing, mentioned beside the others,
never warned of alone. Each warning names the modules and the cure: the ``clock`` fixture, and
``hardening_backoff_modules`` for back-off the plugin does not know. What they warn of is also
handed to the run's summary (:func:`worth_warning`): a project filtering ``UserWarning`` away
still reads it there.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._sleep_watch import KnownSleep

__all__ = [
    "REAL_SLEEP_WARN_SECONDS",
    "known_pairs",
    "warn_frozen_sleeps",
    "warn_real_sleeps",
    "worth_warning",
]

#: Back-off slept for real in one test (no clock) from which the ``faults`` fixture warns: below
#: the AI SDKs' shortest retry delay (0.5 s less up to a quarter of jitter), so one SDK retry
#: always warns.
REAL_SLEEP_WARN_SECONDS = 0.25


def worth_warning(sleeps: Sequence[tuple[str, float]]) -> list[tuple[str, float]]:
    """``sleeps`` as ``(module, seconds)`` when they add up to a warning, else none: the
    summary counts what the warnings say, no more (a streamed answer's 0.01 s waits stay out)."""
    pairs = [(module, float(seconds)) for module, seconds in sleeps]
    return pairs if sum(s for _, s in pairs) >= REAL_SLEEP_WARN_SECONDS else []


def known_pairs(real_sleeps: Sequence[KnownSleep]) -> list[tuple[str, float]]:
    """``(module, seconds)`` of the known back-off slept for real."""
    return [(getattr(s, "module", "?"), float(s)) for s in real_sleeps]


def warn_real_sleeps(real_sleeps: list[KnownSleep], unknown: Sequence[tuple[str, float]]) -> None:
    """Warn of the back-off a test without a clock slept for real: the one the plugin knows,
    and the ``time.sleep`` calls of other modules in the threads serving the test (and their
    ``asyncio.sleep`` calls in the tasks serving its requests)."""
    from ._faults import RealSleepWarning

    known = worth_warning(known_pairs(real_sleeps))
    if known:
        slept, where = sum(s for _, s in known), _where(known)
        warnings.warn(
            RealSleepWarning(
                f"the app slept {slept:.2f} s for real in {len(real_sleeps)} sleep(s) of "
                f"back-off the plugin knows, from {where} (the test has no clock). Add the "
                "`clock` fixture to the test and they move the clock instead"
            ),
            stacklevel=2,
        )
    if worth_warning(unknown):
        slept = sum(seconds for _, seconds in unknown)
        warnings.warn(
            RealSleepWarning(
                f"the app slept {slept:.2f} s for real in {_calls(unknown)} "
                f"from {_where(unknown)}, {_waited(unknown)} (the test has no clock): "
                + (
                    "the app's own waits. "
                    if _awaited(unknown) == len(unknown)
                    else "back-off of a library the plugin does not know, or the app's own waits. "
                )
                + "Add the `clock` fixture to the test and name those modules in "
                "hardening_backoff_modules (or pass them to faults.virtual_backoff): their "
                "sleeps then move the clock instead"
            ),
            stacklevel=2,
        )


def _where(sleeps: Sequence[tuple[str, float]]) -> str:
    return ", ".join(f"{m} ({n})" for m, n in Counter(m for m, _ in sleeps).most_common())


def _calls(sleeps: Sequence[tuple[str, float]]) -> str:
    """``3 time.sleep call(s)``, ``2 asyncio.sleep call(s)``, or both."""
    awaited = _awaited(sleeps)
    counts = {"time.sleep": len(sleeps) - awaited, "asyncio.sleep": awaited}
    return " and ".join(f"{n} {call}" for call, n in counts.items() if n) + " call(s)"


def _waited(sleeps: Sequence[tuple[str, float]], *, which: bool = False) -> str:
    """Where the test waited for ``sleeps``: in the threads it waits for (``which`` ones), in
    the tasks serving the requests it sent (``asyncio.sleep``)."""
    awaited = _awaited(sleeps)
    if awaited == len(sleeps):
        return "in the tasks serving the test's requests"
    threads = "in threads the test waits for" + (
        " (its own, the app's event loop, the worker threads of sync endpoints and executors)"
        * which
    )
    return threads + (" and in the tasks serving its requests" * bool(awaited))


def _awaited(sleeps: Sequence[tuple[str, float]]) -> int:
    from ._sleep_watch import AwaitedSleep

    return sum(isinstance(sleep, AwaitedSleep) for sleep in sleeps)


def warn_frozen_sleeps(
    sleeps: Sequence[tuple[str, float]], background: Sequence[tuple[str, float]]
) -> None:
    """Warn of the real sleeps the test waited for under the clock; a background thread's
    (a poller's) are mentioned beside them, never warned of alone: the test did not wait."""
    if not worth_warning(sleeps):
        return
    slept = sum(seconds for _, seconds in sleeps)
    from ._faults import RealSleepWarning

    message = (
        f"the app slept {slept:.2f} s for real while the clock was frozen, in {_calls(sleeps)} "
        f"from {_where(sleeps)}, {_waited(sleeps, which=True)}: the clock did not move for "
        "them. Name those modules in hardening_backoff_modules (or pass them to "
        "faults.virtual_backoff) and their sleeps move the clock instead"
    )
    if background:
        asked = sum(seconds for _, seconds in background)
        message += (
            f". Background threads the app or a library started also asked for {asked:.2f} s "
            f"of sleep, from {_where(background)}: a poller's own timing, which the test does "
            "not wait for, not back-off; leave those modules out of hardening_backoff_modules "
            "(turn such a poller off in tests, or leave it)"
        )
    warnings.warn(RealSleepWarning(message), stacklevel=2)


def warn_background_backoff(background: Sequence[tuple[str, float]], named: Sequence[str]) -> None:
    """Warn when modules named as back-off (``hardening_backoff_modules``) slept on a thread
    the app started for itself (a startup sync retrying): the clock leaves such a thread in
    real time, and a test that waits for its work waits for every second (a trial's: 39 s,
    in silence)."""
    roots = tuple(named)
    mine = worth_warning(
        [(m, s) for m, s in background if m in roots or m.startswith(tuple(f"{r}." for r in roots))]
    )
    if not mine:
        return
    from ._faults import RealSleepWarning

    asked = sum(seconds for _, seconds in mine)
    warnings.warn(
        RealSleepWarning(
            f"hardening_backoff_modules names modules whose sleeps ran on a thread the app "
            f"started for itself: {asked:.2f} s asked for, in {_calls(mine)} from "
            f"{_where(mine)}, in real time. The clock moves only for the sleeps the test waits "
            "for (its own thread, the app's event loop, the worker threads of its requests); "
            "a test that waits for that thread's work (polling until it is done) waits for "
            "every second. Call that work from the test, whose back-off then moves the clock, "
            "or turn the thread off in tests"
        ),
        stacklevel=2,
    )
