"""Starting and stopping the freezegun freeze under a :class:`~._clock.Clock`, for every thread.

The freeze goes in and out with what must surround it: the monotonic anchor (read from the
moment freezegun's fakes are in until they are gone, see :mod:`._clock_monotonic`), the
thread-safe real-time check (:mod:`._freezegun_races`), the module scan that makes starting
cheap (:mod:`._clock_cache`), and an ignore list that lets worker threads see the frozen time.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

import freezegun
import freezegun.api

from ._clock_cache import stop_freezer
from ._freezegun_races import install_thread_safe_check

if TYPE_CHECKING:
    from ._clock_cache import ModuleScan
    from ._clock_monotonic import Anchor

__all__ = ["EXTRA_IGNORE", "start_freeze", "stop_freeze"]

# freezegun hands out *real* time to any caller with one of these modules within a few stack
# frames. Every worker thread starts in ``threading``, so app code running in Starlette's
# TestClient portal thread or in anyio's thread pool (sync endpoints) would see real time, and
# whether it does depends on stack depth. We drop them from the run-time check only: modules
# ignored at start-up still keep their own real references (``queue``'s and ``threading``'s
# timeouts stay real), which is what keeps blocking waits from hanging.
_THREAD_ENTRY_MODULES = ("threading",)
# pytest measures durations with references it grabbed at import; keep them real.
EXTRA_IGNORE = ["_pytest.timing"]


def start_freeze(
    start_at: _dt.datetime, anchor: Anchor, scan: ModuleScan, extra: Mapping[str, ModuleType]
) -> tuple[Any, Any]:
    """A freeze of ``start_at`` (freezegun's freezer and its time factory), ``extra`` modules
    frozen too, that every thread of the app sees."""
    anchor.install()  # first: read from the moment freezegun's functions are in
    install_thread_safe_check()  # before the freeze starts; kept after it stops
    freezer = freezegun.freeze_time(start_at, ignore=EXTRA_IGNORE, real_asyncio=True)
    factory = scan.start(freezer, extra=extra)
    ignore_lists = freezegun.api.ignore_lists
    ignore_lists[-1] = tuple(m for m in ignore_lists[-1] if m not in _THREAD_ENTRY_MODULES)
    return freezer, factory


def stop_freeze(freezer: Any, anchor: Anchor | None, *, pausing: bool) -> None:
    """Stop the freeze ``start_freeze`` started (``freezer``: none when it had not)."""
    if freezer is not None:
        stop_freezer(freezer)
    if anchor is not None:  # last: read until freezegun's functions are gone
        if pausing:
            anchor.suspend()  # in place: a reading begun before may end meanwhile
        else:
            anchor.remove()
