"""SleepWatch: the real ``time.sleep`` calls the app makes, and from where.

The clock moves only with ``advance``, and the back-off it knows of (the AI SDKs', the retry
libraries', the modules named to ``virtual_backoff``) moves it. A library it does not know
that sleeps between retries (botocore, say) makes the test wait in real time while the clock
stands still: the test is slow, and the time the app meant to let pass never passes. The
watch records such sleeps with the module that called ``time.sleep``, so the ``clock``
fixture can name it. The fault injector runs one too, recording while no clock is attached
(urllib3's ``Retry`` back-off under a refused connection, say), and the ``faults`` fixture
names those modules, with the clock as the cure.

Only the sleeps of threads that serve the test (its own, the app's event loop, the worker
threads of sync endpoints and executors: see :mod:`._virtual_time`) are the app's back-off the
test waits for, in :attr:`SleepWatch.sleeps`. Those of the threads the app or a library started
for itself (aws-xray-sdk's sampling pollers sleep their interval in a loop) go to
:attr:`SleepWatch.background`: their own timing, which the test does not wait for.

While started, ``time.sleep`` is a wrapper that records, then sleeps as before. Callers in the
standard library, pytest, the event-loop libraries, Sentry's SDK and the test code itself
(``test_*`` modules, ``conftest``) are not recorded: their sleeps are theirs to make. Code that
bound ``sleep`` before the watch started (``from time import sleep``) is not seen, nor is
``asyncio.sleep``: the event loop keeps real time under the clock, and an app's background
pollers (a re-dial worker, an upload retry) sleep there by design, where a request never waits.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from ._clock_holders import DEFAULT_IGNORE
from ._virtual_time import ServingThreads

__all__ = ["RealSleep", "SleepWatch"]

#: The clock's own list (freezegun, pytest, this plugin, the event-loop libraries), and the
#: libraries whose threads sleep for themselves (Sentry's monitor, hypothesis).
_IGNORED = (*DEFAULT_IGNORE, "sentry_sdk", "hypothesis", "_hypothesis")


class RealSleep(NamedTuple):
    """One real ``time.sleep(seconds)`` made while the clock was frozen, by ``module``."""

    module: str
    seconds: float


class SleepWatch:
    """Record real sleeps between :meth:`start` and :meth:`stop` (again after a restart):
    those of the threads serving the test (``threads``, default: seen from the thread that makes
    the watch) in :attr:`sleeps`, the others in :attr:`background`."""

    def __init__(
        self,
        threads: ServingThreads | None = None,
        *,
        ignore: Iterable[str] = (),  # top-level packages
        when: Callable[[], bool] | None = None,
    ) -> None:
        self.sleeps: list[RealSleep] = []
        #: Sleeps asked for by background threads (pollers): not the test's to wait for.
        self.background: list[RealSleep] = []
        self._threads = threads if threads is not None else ServingThreads()
        self._ignore = frozenset(ignore)  # packages whose sleeps are counted elsewhere
        self._when = when  # records only while it says so (default: always)
        self._lock = threading.Lock()
        self._wrapper: Callable[[float], None] | None = None
        self._real: Callable[[float], None] | None = None
        self._recording = False

    def start(self) -> SleepWatch:
        self._recording = True
        if self._wrapper is None:
            real = time.sleep

            def sleep(seconds: float) -> None:
                if self._recording and seconds > 0:
                    self._record(sys._getframe(1), float(seconds))
                real(seconds)

            sleep.real_sleep = real  # type: ignore[attr-defined]  # what it stands for
            self._real, self._wrapper = real, sleep
            time.sleep = sleep  # type: ignore[assignment]
        return self

    def _record(self, frame: Any, seconds: float) -> None:
        if self._when is not None and not self._when():
            return
        while frame is not None and frame.f_globals.get("__name__") == __name__:
            frame = frame.f_back  # another watch's wrapper around this one: its caller
        module = _caller(frame, self._ignore)
        if module is not None:
            into = self.sleeps if self._threads.serving() else self.background
            with self._lock:
                into.append(RealSleep(module, seconds))

    def pause(self) -> None:
        """Stop recording (real time goes on: a real sleep is what it should be)."""
        self._recording = False

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Not recording inside the block (an app's startup and shutdown: not back-off)."""
        recording, self._recording = self._recording, False
        try:
            yield
        finally:
            self._recording = recording and self._wrapper is not None

    def stop(self) -> None:
        self._recording = False
        wrapper: Any = self._wrapper
        real: Any = self._real
        self._wrapper = self._real = None
        if wrapper is None or real is None:
            return
        wrapper.stopped = True
        # Only our own wrapper is taken back: a patch made over it since (a test's
        # monkeypatch) is undone by its owner first, as fixtures tear down in reverse. Another
        # watch's wrapper under ours that stopped first (out of order) is skipped: it stays
        # only in the chain of calls that bound it.
        if time.sleep is wrapper:
            while getattr(real, "stopped", False):
                real = real.real_sleep
            time.sleep = real


def _caller(frame: Any, ignore: frozenset[str] = frozenset()) -> str | None:
    """The module that called ``time.sleep``, unless its sleeps are not the app's (or its
    top-level package is in ``ignore``)."""
    name = frame.f_globals.get("__name__") if frame is not None else None
    if not isinstance(name, str):
        return None
    top = name.partition(".")[0]
    last = name.rpartition(".")[2]
    if top in sys.stdlib_module_names or top in ignore or name.startswith(_IGNORED):
        return None
    if last.startswith("test_") or last == "conftest" or last.endswith("_test"):
        return None
    return name
