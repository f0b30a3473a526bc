"""freezegun's check for a caller to leave on real time, safe against a freeze stopping in
another thread.

Every fake (``time.monotonic``, ``datetime.now`` ...) first asks ``_should_use_real_time``,
which reads the innermost freeze's ignore list, ``ignore_lists[-1]``, once to test it and
again for each frame it walks, then reads the frozen instant, ``freeze_factories[-1]()``. A
thread reading the time while the test's thread stops the clock (a kept app's event loop,
between two of its timers) met either list emptied between two of those reads:
``IndexError`` in the app's thread, its loop dead. While installed, the check reads the list
once (its frames and answers are freezegun's), and a freeze gone meanwhile reads real time.
"""

from __future__ import annotations

import datetime as _dt
import inspect
from collections.abc import Callable
from typing import Any

import freezegun.api

__all__ = ["ThreadSafeCheck"]


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
        now: _dt.datetime = api.freeze_factories[-1]()
    except IndexError:  # the freeze stopped meanwhile: real time, as the fake would read next
        return api.real_datetime.now(_dt.timezone.utc).replace(tzinfo=None)  # type: ignore[no-any-return]
    return now


_NAMES = ("_should_use_real_time", "get_current_time")


class ThreadSafeCheck:
    """Installs the two above in freezegun's module (its fakes look them up at each call),
    when freezegun has them; :meth:`remove` puts freezegun's back."""

    def __init__(self) -> None:
        self._saved: tuple[Callable[[], Any], ...] | None = None

    def install(self) -> None:
        api: Any = freezegun.api
        own = [getattr(api, name, None) for name in _NAMES]
        shaped = hasattr(api, "ignore_lists") and hasattr(api, "freeze_factories")
        functions = tuple(f for f in own if callable(f))
        if self._saved is None and shaped and len(functions) == len(_NAMES):
            self._saved = functions
            api._should_use_real_time = _should_use_real_time
            api.get_current_time = _get_current_time

    def remove(self) -> None:
        saved, self._saved = self._saved, None
        if saved is not None:
            api: Any = freezegun.api
            api._should_use_real_time, api.get_current_time = saved
