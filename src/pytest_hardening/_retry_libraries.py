"""Virtual back-off for the retry libraries apps use: tenacity, backoff, google-api-core,
urllib3 (what requests retries with).

An app that retries a provider with ``@tenacity.retry(wait=wait_exponential(...))`` or
``@backoff.on_exception(backoff.expo, ...)`` sleeps for real between attempts, even under a
frozen clock: a test of an outage would wait out every back-off. While an injector with a clock
is started, their default sleeps move the clock instead (each delay recorded):

- tenacity keeps its sleep on each ``Retrying``/``AsyncRetrying`` object, built when the
  decorated function was defined. A property on those classes hands out the virtual sleep in
  place of the library's default one (``tenacity.nap.sleep``, or its asyncio/trio sleep); a
  sleep the app chose itself (``sleep=...``) is left alone. stamina rides on tenacity: its
  synchronous retries use tenacity's default, its async ones hand tenacity stamina's own
  asyncio-or-trio sleep, which counts as a default too.
- backoff, httpx-retries (``RetryTransport``), retrying, google-api-core (the retries of
  the Google Cloud clients) and urllib3's ``Retry`` (requests' ``HTTPAdapter(max_retries=...)``:
  its back-off, and a ``Retry-After`` it honours) call ``time.sleep`` and ``asyncio.sleep``
  through their modules' own names: those names are pointed at stand-ins whose ``sleep`` is
  virtual (all else is the real module).

The app's own back-off (``await asyncio.sleep(delay)`` in a retry loop) is reached the same way,
for the modules it names (:class:`~._own_backoff.OwnBackoff`, :attr:`VirtualLibrarySleep.own`).

Without a clock the libraries sleep as in production. Only libraries the app has imported are
patched (:meth:`VirtualLibrarySleep.start` again reaches those imported since).
Tested with tenacity 8.2 and 9.x, stamina 24-26, backoff 2.x, httpx-retries 0.6, retrying 1.4
and urllib3 2.x; google-api-core 2.44 in a trial.
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol

from ._class_patches import ClassPatches, import_if_loaded
from ._own_backoff import SLEEPS, OwnBackoff, Standin, real_async_sleep, real_of
from ._retry_storm import noted
from ._sleep_watch import KnownSleep
from ._virtual_time import ServingThreads, moved

__all__ = ["PACKAGES", "VirtualLibrarySleep"]

#: The libraries' top-level packages.
PACKAGES = frozenset(
    {"backoff", "google", "httpx_retries", "redis", "retrying", "tenacity", "urllib3"}
)
#: Modules that sleep through their own ``time`` / ``asyncio`` names, each with a name it must
#: have (an app's own module called ``retrying`` is not the library). google-api-core's retry
#: loops are what every Google Cloud client (Firestore, Pub/Sub, Tasks) retries with.
_SYNC_SLEEPERS = (
    ("backoff._sync", "retry_exception"),
    ("httpx_retries.retry", "Retry"),
    ("retrying", "Retrying"),
    ("google.api_core.retry.retry_unary", "retry_target"),
    ("google.api_core.retry.retry_streaming", "retry_target_stream"),
    ("urllib3.util.retry", "Retry"),  # requests' HTTPAdapter(max_retries=Retry(...))
)
_ASYNC_SLEEPERS = (
    ("backoff._async", "retry_exception"),
    ("httpx_retries.retry", "Retry"),
    ("google.api_core.retry.retry_unary_async", "retry_target"),
    ("google.api_core.retry.retry_streaming_async", "retry_target_stream"),
)
#: Modules that hold the sleep function itself (``from time import sleep``): redis-py's
#: ``Retry``, which retries a refused or dropped connection with back-off by default (6.0+).
#: (The clock's watch of bound sleeps leaves them to this: ``_bound_sleeps.LIBRARY_HELD``.)
_SLEEP_HOLDERS = (
    ("redis.retry", "Retry", True),
    ("redis.asyncio.retry", "Retry", False),
)
#: A namespace package is loaded by any of its libraries: its library's own package must be.
_NAMESPACES = {"google": "google.api_core"}


class _Clock(Protocol):
    def advance(self, seconds: float) -> None: ...


class _DefaultSleep:
    """A data descriptor for the ``sleep`` attribute of tenacity's retrying classes: the
    object's own sleep, except the library default, which becomes ``virtual()`` (virtual with a
    clock, else real and recorded). Assignments (``self.sleep = sleep`` in ``__init__``) land in
    the instance dict."""

    def __init__(
        self, default: Any, virtual: Callable[[], Any], others: Callable[[], tuple[Any, ...]]
    ) -> None:
        self._default = default
        self._virtual = virtual
        self._others = others  # other libraries' defaults, looked up when read (late imports)

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        stored = vars(obj).get("sleep", self._default)
        if stored is self._default or any(stored is other for other in self._others()):
            return self._virtual() or stored
        return stored

    def __set__(self, obj: Any, value: Any) -> None:
        vars(obj)["sleep"] = value


class VirtualLibrarySleep:
    """While started, tenacity's and backoff's default back-off sleeps advance ``clock()``
    (when it returns a clock) instead of sleeping, in the threads that serve the test
    (``threads``: see :mod:`._virtual_time`); each delay is appended to ``sleeps``."""

    def __init__(
        self,
        clock: Callable[[], _Clock | None],
        sleeps: list[float],
        real_sleeps: list[KnownSleep] | None = None,
        threads: ServingThreads | None = None,
        *,
        inline: list[ModuleType] | None = None,
    ) -> None:
        self._clock = clock
        #: Modules of libraries that sleep inline in their retry loops, found by another
        #: (``VirtualRetrySleep.inline``: AI SDK releases without ``_sleep_for_retry``):
        #: their sleeps are made virtual as the app's own modules' are, at each start.
        self._inline = [] if inline is None else inline
        self.sleeps = sleeps
        self.real_sleeps = [] if real_sleeps is None else real_sleeps
        self._threads = threads if threads is not None else ServingThreads()
        self._patches = ClassPatches()
        #: The app's own modules named for virtual back-off.
        self.own = OwnBackoff(self._patches, self._sync_sleep, self._own_async_sleep, self._moved)

    def start(self) -> VirtualLibrarySleep:
        """Patch the libraries imported so far (again: only those not yet patched)."""
        tenacity = import_if_loaded("tenacity")
        if tenacity is not None:
            nap = getattr(getattr(tenacity, "nap", None), "sleep", None)
            self._property(getattr(tenacity, "BaseRetrying", None), nap, self._sync, tuple)
            # 9.x: tenacity.asyncio and its portable sleep; 8.x: tenacity._asyncio, whose
            # AsyncRetrying defaults to asyncio.sleep itself.
            aio = import_if_loaded("tenacity.asyncio") or import_if_loaded("tenacity._asyncio")
            default = getattr(aio, "_portable_async_sleep", None) or getattr(aio, "sleep", None)
            self._property(getattr(aio, "AsyncRetrying", None), default, self._async, _stamina)
        for name, marker in _SYNC_SLEEPERS:
            self._stand_in(name, marker, time, self._sync_sleep)
        for name, marker in _ASYNC_SLEEPERS:
            self._stand_in(name, marker, asyncio, self._async_sleep)
        for name, marker, sync in _SLEEP_HOLDERS:
            self._sleep_in(name, marker, sync)
        self.own.start(self._inline)
        return self

    def stop(self) -> None:
        self._patches.undo()
        self.own.stop()

    def _hardening_stands_for(self, sleep: Any) -> Any:
        """The real sleep one of this object's virtual sleeps stands for (see ``real_of``)."""
        own = getattr(sleep, "__func__", None)
        return time.sleep if own is VirtualLibrarySleep._sync_sleep else asyncio.sleep

    def _stand_in(
        self, name: str, marker: str, real: ModuleType, sleep: Callable[..., Any]
    ) -> None:
        # The library's module (it has ``marker``), not patched by this object yet (an outer
        # injector's stand-in is replaced until this one stops).
        module = import_if_loaded(name, loaded=_NAMESPACES.get(name.partition(".")[0]))
        attr = real.__name__
        if module is None or not (hasattr(module, marker) and hasattr(module, attr)):
            return
        if not self._patches.patched(module, attr):
            self._patches.patch(module, attr, Standin(real, sleep))

    def _sleep_in(self, name: str, marker: str, sync: bool) -> None:
        """The library's module holds the real ``time.sleep`` (``sync``) or ``asyncio.sleep``
        itself as ``sleep``: replaced by the virtual sleep (until :meth:`stop`), unless it
        holds something else there."""
        module = import_if_loaded(name)
        held = getattr(module, "sleep", None)
        theirs = getattr(held, "__func__", None) in (  # an outer injector's: this one's now
            VirtualLibrarySleep._sync_sleep,
            VirtualLibrarySleep._async_sleep,
        )
        real = SLEEPS[0] if sync else SLEEPS[1]
        if module is None or not hasattr(module, marker) or not (real_of(held) is real or theirs):
            return
        if not self._patches.patched(module, "sleep"):
            self._patches.patch(module, "sleep", self._sync_sleep if sync else self._async_sleep)

    def _property(
        self,
        cls: Any,
        default: Any,
        virtual: Callable[[], Any],
        others: Callable[[], tuple[Any, ...]],
    ) -> None:
        # A release without these names keeps its real sleeps (tests pin the versions).
        if isinstance(cls, type) and callable(default) and not self._patches.patched(cls):
            self._patches.patch(cls, "sleep", _DefaultSleep(default, virtual, others))

    # tenacity's default sleep, looked up at each retry: virtual with a clock, else a real
    # sleep as the library's own (``time.sleep``; anyio's asyncio-or-trio sleep), recorded.
    def _sync(self) -> Callable[[float], None]:
        return self._sync_sleep

    def _async(self) -> Callable[[float], Any]:
        return self._async_sleep

    def _sync_sleep(self, seconds: float) -> None:
        if not self._moved(float(seconds)):
            time.sleep(seconds)

    async def _async_sleep(self, seconds: float) -> None:
        if self._moved(float(seconds), task=True):
            await real_async_sleep(0)  # still a checkpoint, as the real sleep was
        else:
            await real_async_sleep(seconds)

    def _moved(self, seconds: float, *, task: bool = False) -> bool:
        """Whether the clock moved by ``seconds`` in place of the sleep; else the caller
        sleeps for real: for want of a clock (recorded), in a thread, or a task (``task``: an
        awaited sleep) of the app's loop, that does not serve the test (a background poller's
        loop would spin the clock away, and no test waits for it), or after the clock stopped
        (a thread still retrying when the test ended: as in production, never an error)."""
        serving = self._threads.serving_task() if task else self._threads.serving()
        if not serving:
            return False
        clock = self._clock()
        if clock is None:
            self.real_sleeps.append(KnownSleep.here(seconds))
            return False
        if not moved(clock, seconds):
            return False
        noted(self.sleeps, seconds)
        return True

    async def _own_async_sleep(self, seconds: float, result: Any = None) -> Any:
        # ``asyncio.sleep(delay, result)``'s signature; ``sleep(0)`` is a checkpoint, no back-off.
        if seconds > 0:
            await self._async_sleep(seconds)
        else:
            await real_async_sleep(0)
        return result


def _stamina() -> tuple[Any, ...]:
    """stamina's async sleep (``stamina._core._smart_sleep``: asyncio's or trio's), which its
    async retries pass to tenacity as ``sleep=``; nothing when stamina is not imported."""
    smart = getattr(sys.modules.get("stamina._core"), "_smart_sleep", None)
    return (smart,) if callable(smart) else ()
