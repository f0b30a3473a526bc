"""freezegun's check for a caller to leave on real time, safe against a freeze stopping in
another thread.

Every fake (``time.monotonic``, ``datetime.now`` ...) first asks ``_should_use_real_time``,
which reads the innermost freeze's ignore list, ``ignore_lists[-1]``, once to test it and
again for each frame it walks, then reads the frozen instant, ``freeze_factories[-1]()``. A
thread reading the time while the test's thread stops the clock (a kept app's event loop,
between two of its timers) met either list emptied between two of those reads:
``IndexError`` in the app's thread, its loop dead. Once installed, the check reads the list
once (its frames and answers are freezegun's), and a freeze gone meanwhile reads real time.

It stays installed when the clock stops: a thread already inside a fake when the freeze stops
looks up ``get_current_time`` after the stop, and freezegun's own would then raise. With no
freeze running, freezegun's fakes are out of every module and the two answer as freezegun's do.

Every frozen reading passes through ``get_current_time``, so a running clock watches the wall
clock's readings there (:func:`watch_readings`: ``time.time``, ``datetime.now``, a busy-wait on
them). The watch rides on the freeze's own time factory, the innermost freeze's: it goes with
that freeze, and a freeze started inside the clock (a test's own) is not watched; with no
watch, one more look-up per reading.
"""

from __future__ import annotations

import datetime as _dt
import inspect
from collections.abc import Callable
from typing import Any

import freezegun.api

__all__ = ["install_thread_safe_check", "watch_readings"]

#: The attribute of a freeze's time factory holding the watch of its readings: called with each
#: frozen instant read, directly by ``_get_current_time`` (the watch finds its reader two frames
#: up).
_WATCH = "_pytest_hardening_watch"


def _should_use_real_time() -> bool:
    api: Any = freezegun.api
    limit = api.call_stack_inspection_limit
    if not limit:
        return False
    try:
        ignore = api.ignore_lists[-1]
    except IndexError:  # no freeze left (stopped meanwhile): real time, as freezegun's says
        return True
    if not ignore:
        return False
    frame: Any = inspect.currentframe()
    frame = frame.f_back.f_back  # the fake's caller, as freezegun's own walk starts there
    for _ in range(limit):
        name = frame.f_globals.get("__name__")
        if name and name.startswith(ignore):
            return True
        frame = frame.f_back
        if frame is None:
            break
    return False


def _get_current_time() -> _dt.datetime:
    api: Any = freezegun.api
    try:
        factory = api.freeze_factories[-1]
        now: _dt.datetime = factory()
    except IndexError:  # the freeze stopped meanwhile: real time, as the fake would read next
        return api.real_datetime.now(_dt.timezone.utc).replace(tzinfo=None)  # type: ignore[no-any-return]
    watch = getattr(factory, _WATCH, None)
    if watch is not None:
        watch(now)  # may raise FrozenDeadlineError: the reading of a loop that never ends
    return now


def watch_readings(factory: Any, watch: Callable[[_dt.datetime], None]) -> None:
    """Hand each instant read from the freeze of ``factory`` (its time factory) to ``watch``,
    for as long as that freeze runs."""
    setattr(factory, _WATCH, watch)


_NAMES = ("_should_use_real_time", "get_current_time")
_OURS = (_should_use_real_time, _get_current_time)


def install_thread_safe_check() -> None:
    """Puts the two above in freezegun's module (its fakes look them up at each call), when
    freezegun has them; for good (see above), and once."""
    api: Any = freezegun.api
    own = [getattr(api, name, None) for name in _NAMES]
    shaped = hasattr(api, "ignore_lists") and hasattr(api, "freeze_factories")
    if shaped and all(callable(f) for f in own) and tuple(own) != _OURS:
        api._should_use_real_time, api.get_current_time = _OURS
