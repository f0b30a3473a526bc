"""ClockBackoff: the known back-off moves a clock that no fault injector serves.

A fault injector makes the AI SDKs' and the retry libraries' back-off sleeps move its clock
(see :mod:`._interception`). A test with the clock and no injector (a service called directly,
a breaker unit test) still waits through those libraries' sleeps for real, while the clock
stands still: tenacity's exponential wait slept its seconds. The harness starts one of these
with a clock, and stops it when an injector takes the back-off over.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import _retry_libraries, _sdk_retries
from ._import_watch import ImportWatch
from ._retry_libraries import VirtualLibrarySleep
from ._sdk_retries import VirtualRetrySleep
from ._virtual_time import ServingThreads

if TYPE_CHECKING:
    from ._clock import Clock

__all__ = ["ClockBackoff"]


class ClockBackoff:
    """While started, the back-off of the AI SDKs and the retry libraries (tenacity, stamina,
    backoff, httpx-retries, retrying, urllib3's Retry) moves ``clock``, in the threads that
    serve the test (made here: the test's thread); each delay is in :attr:`sleeps`. Libraries
    the app imports later are reached when it does."""

    def __init__(self, clock: Clock) -> None:
        threads = ServingThreads()
        self._sdk = VirtualRetrySleep(lambda: clock, threads)
        self.sleeps = self._sdk.sleeps
        self._library = VirtualLibrarySleep(
            lambda: clock, self.sleeps, None, threads, inline=self._sdk.inline
        )
        self._imports = ImportWatch(
            _retry_libraries.PACKAGES | _sdk_retries.PACKAGES,
            self._catch_up,
            suffixes=(_sdk_retries.BASE_CLIENT,),
        )
        self._started = False

    def start(self) -> ClockBackoff:
        self._started = True
        self._catch_up()
        self._imports.start()
        return self

    def _catch_up(self) -> None:
        if self._started:
            self._sdk.start()
            self._library.start()

    def stop(self) -> None:
        """Undo (once; again does nothing)."""
        if not self._started:
            return
        self._started = False
        self._imports.stop()
        self._library.stop()
        self._sdk.stop()
