"""SleepWatch: the real ``time.sleep`` calls the app makes, and from where.

The clock moves only with ``advance``, and the back-off it knows of (the AI SDKs', the retry
libraries', the modules named to ``virtual_backoff``) moves it. A library it does not know
that sleeps between retries (botocore, say) makes the test wait in real time while the clock
stands still: the test is slow, and the time the app meant to let pass never passes. The
watch records such sleeps with the module that called ``time.sleep``, so the ``clock``
fixture can name it. The fault injector runs one too, recording while no clock is attached
(botocore's retries of a refused connection, say), and the ``faults`` fixture
names those modules, with the clock as the cure.

Only the sleeps of threads that serve the test (its own, the app's event loop, the worker
threads of sync endpoints and executors: see :mod:`._virtual_time`) are the app's back-off the
test waits for, in :attr:`SleepWatch.sleeps`. Those of the threads the app or a library started
for itself (aws-xray-sdk's sampling pollers sleep their interval in a loop) go to
:attr:`SleepWatch.background`: their own timing, which the test does not wait for.

While started, ``time.sleep`` is a wrapper that records, then sleeps as before. Callers in the
standard library, pytest, the event-loop libraries, Sentry's SDK and the test code itself
(``test_*`` modules, ``conftest``) are not recorded: their sleeps are theirs to make. Code that
bound ``sleep`` before the watch started (``from time import sleep``) is seen when the watch is
told where (:attr:`SleepWatch.bound`: the clock's module scan finds such names).

``asyncio.sleep`` is wrapped too, and recorded (as :class:`AwaitedSleep`; cancelled part-way,
the real time it took) only in the tasks serving a request the plugin's clients sent, while it
is in flight (:func:`._virtual_time.in_request`): a streamed answer's ``await
asyncio.sleep(0.05)`` per chunk, the app's own retry loop. The event loop keeps real time under
the clock, and an app's background tasks (a re-dial worker, a periodic refresh) sleep there by
design, where no request waits: theirs are not recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from types import ModuleType
from typing import Any, NamedTuple, Protocol

from ._bound_sleeps import LIBRARY_HELD, Repointed, unstopped
from ._clock_repoint import DEFAULT_IGNORE
from ._virtual_time import ServingThreads, in_request, moves, note_move

__all__ = ["AwaitedSleep", "Diversion", "KnownSleep", "RealSleep", "SleepWatch", "not_the_apps"]

#: The clock's own list (freezegun, pytest, this plugin, the event-loop libraries), and the
#: libraries whose threads sleep for themselves (Sentry's monitor, hypothesis).
_IGNORED = (*DEFAULT_IGNORE, "sentry_sdk", "hypothesis", "_hypothesis")
_PLUGIN = __name__.partition(".")[0]


class RealSleep(NamedTuple):
    """One real ``time.sleep(seconds)`` made while the clock was frozen, by ``module``."""

    module: str
    seconds: float


class AwaitedSleep(RealSleep):
    """One ``await asyncio.sleep(seconds)`` a request waited for (cancelled part-way: the real
    seconds it took)."""

    __slots__ = ()


class KnownSleep(float):
    """Seconds of back-off the plugin knows (an SDK's, a retry library's, a module named in
    ``hardening_backoff_modules``) slept for real for want of a clock, with the ``module`` that
    slept: a float, as :attr:`FaultInjector.real_sleeps` lists them."""

    __slots__ = ("module",)
    module: str

    def __new__(cls, seconds: float, module: str) -> KnownSleep:
        sleep = super().__new__(cls, seconds)
        sleep.module = module
        return sleep

    @classmethod
    def here(cls, seconds: float) -> KnownSleep:
        """``seconds`` slept by the first caller outside this plugin."""
        frame = sys._getframe(1)
        while frame is not None and frame.f_globals.get("__name__", "").startswith(_PLUGIN):
            frame = frame.f_back  # type: ignore[assignment]
        name = frame.f_globals.get("__name__") if frame is not None else None
        return cls(seconds, name if isinstance(name, str) else "?")


class Diversion(Protocol):
    """Sleeps a watch moves the clock for instead (see :class:`SleepWatch`'s ``divert``)."""

    def calls_own(self, frame: Any) -> bool:
        """Whether ``frame`` (a sleep's caller) is code whose sleeps are virtual."""

    def moved_for(self, seconds: float, *, task: bool = False) -> bool:
        """Whether the clock moved by ``seconds`` (else the caller sleeps for real); ``task``:
        awaited in an event loop."""


class SleepWatch:
    """Record real sleeps between :meth:`start` and :meth:`stop` (again after a restart):
    those of the threads serving the test (``threads``, default: seen from the thread that makes
    the watch) in :attr:`sleeps`, the others in :attr:`background`.

    With ``divert``, the sleeps of the code it names move the clock instead (a module named for
    virtual back-off that imports ``asyncio`` inside its functions, where no module name can be
    pointed at a stand-in); they are known back-off, never recorded here. A sleep that moved
    the clock below a watch (another watch's diversion) is not recorded either."""

    def __init__(
        self,
        threads: ServingThreads | None = None,
        *,
        ignore: Iterable[str] = (),  # top-level packages (a set given is read as it grows)
        when: Callable[[], bool] | None = None,
        divert: Diversion | None = None,
    ) -> None:
        self.sleeps: list[RealSleep] = []
        #: Sleeps asked for by background threads (pollers): not the test's to wait for.
        self.background: list[RealSleep] = []
        self._threads = threads if threads is not None else ServingThreads()
        # Packages whose sleeps are counted elsewhere: a set is kept, not copied (its owner
        # adds the SDKs it finds later).
        self._ignore: Collection[str] = ignore if isinstance(ignore, set) else frozenset(ignore)
        self._when = when  # records only while it says so (default: always)
        self._divert = divert
        self._lock = threading.Lock()
        self._wrapper: Callable[[float], None] | None = None
        self._real: Callable[[float], None] | None = None
        self._async_wrapper: Any = None
        self._async_real: Any = None
        self._recording = False
        #: Where modules hold the real sleep under a name of their own (``from time import
        #: sleep`` at import): pointed at the wrapper too while started (see _bound_sleeps).
        self.bound: Callable[[], Iterable[tuple[ModuleType, str]]] | None = None
        self._repointed = Repointed()

    def start(self) -> SleepWatch:
        self._recording = True
        if self._wrapper is None:
            self._real = time.sleep
            self._wrapper = self._wrap(time.sleep)
            time.sleep = self._wrapper  # type: ignore[assignment]
        if self.bound is not None:
            holders = [
                (m, n)
                for m, n in self.bound()
                if not not_the_apps(m.__name__) and m.__name__ not in LIBRARY_HELD
            ]
            self._repointed.repoint(holders, self._wrap)
        if self._async_wrapper is None:
            self._async_real = asyncio.sleep
            self._async_wrapper = self._wrap_async(asyncio.sleep)
            asyncio.sleep = self._async_wrapper
        return self

    def _diverted(self, frame: Any, seconds: float, *, task: bool = False) -> bool | None:
        """None: not the code ``divert`` names; else whether the clock moved in its place."""
        if self._divert is None or seconds <= 0 or not self._recording:
            return None
        if not self._divert.calls_own(_past_watches(frame)):
            return None
        if self._divert.moved_for(seconds, task=task):
            note_move()
            return True
        return False

    def _wrap(self, real: Callable[[float], None]) -> Callable[[float], None]:
        def sleep(seconds: float) -> None:
            caller = sys._getframe(1)
            diverted = self._diverted(caller, float(seconds))
            if diverted:
                return
            before = moves()
            real(seconds)
            if diverted is None and self._recording and seconds > 0 and moves() == before:
                self._record(caller, float(seconds))

        sleep.real_sleep = real  # type: ignore[attr-defined]  # what it stands for
        return sleep

    def _wrap_async(self, real: Any) -> Any:
        async def sleep(delay: float, result: Any = None) -> Any:
            caller = sys._getframe(1)  # the coroutine that awaits this one
            diverted = self._diverted(caller, float(delay), task=True)
            if diverted:
                return await real(0, result)  # still a checkpoint, as the real sleep was
            if diverted is not None or not (self._recording and delay > 0 and in_request()):
                return await real(delay, result)
            loop = asyncio.get_running_loop()
            started, before = loop.time(), moves()  # the loop's clock: real time
            try:
                slept = await real(delay, result)
            except BaseException:  # cancelled part-way (a racing task won): what it took
                if moves() == before:
                    self._record(caller, min(float(delay), loop.time() - started), AwaitedSleep)
                raise
            if moves() == before:
                self._record(caller, float(delay), AwaitedSleep)
            return slept

        sleep.real_sleep = real  # type: ignore[attr-defined]  # what it stands for
        return sleep

    def _record(self, frame: Any, seconds: float, kind: type[RealSleep] = RealSleep) -> None:
        if self._when is not None and not self._when():
            return
        module = _caller(_past_watches(frame), self._ignore)
        if module is not None:
            into = self.sleeps if self._threads.serving() else self.background
            with self._lock:
                into.append(kind(module, seconds))

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
        self._repointed.undo()
        wrapper: Any = self._wrapper
        real: Any = self._real
        self._wrapper = self._real = None
        if wrapper is not None and real is not None:
            time.sleep = _unwrapped(time.sleep, wrapper, real)
        wrapper, real = self._async_wrapper, self._async_real
        self._async_wrapper = self._async_real = None
        if wrapper is not None and real is not None:
            asyncio.sleep = _unwrapped(asyncio.sleep, wrapper, real)


def _unwrapped(current: Any, wrapper: Any, real: Any) -> Any:
    """What the sleep ``current`` should be once ``wrapper`` (around ``real``) stopped.

    Only our own wrapper is taken back: a patch made over it since (a test's monkeypatch) is
    undone by its owner first, as fixtures tear down in reverse. Another watch's wrapper under
    ours that stopped first (out of order) is skipped: it stays only in the chain of calls that
    bound it."""
    wrapper.stopped = True
    if current is not wrapper:
        return current
    return unstopped(real)


def _past_watches(frame: Any) -> Any:
    """The caller of a sleep, past the wrappers of other watches around this one and the
    plugin's stand-ins that pass a sleep on (a named back-off module's ``sleep`` on a thread
    the test does not wait for is real: the module that called it made it)."""
    while frame is not None and str(frame.f_globals.get("__name__")).startswith(_OWN_FRAMES):
        frame = frame.f_back
    return frame


_OWN_FRAMES = ("pytest_hardening.",)


def _caller(frame: Any, ignore: Collection[str] = frozenset()) -> str | None:
    """The module that called ``time.sleep``, unless its sleeps are not the app's (or its
    top-level package is in ``ignore``)."""
    name = frame.f_globals.get("__name__") if frame is not None else None
    if not isinstance(name, str) or not_the_apps(name, ignore):
        return None
    return name


def not_the_apps(name: str, ignore: Collection[str] = frozenset()) -> bool:
    """Whether the sleeps of module ``name`` are not the app's: the standard library's,
    pytest's, the event-loop libraries', this plugin's, the test modules' (or ``ignore``'s)."""
    top = name.partition(".")[0]
    last = name.rpartition(".")[2]
    if top in sys.stdlib_module_names or top in ignore or name.startswith(_IGNORED):
        return True
    return last.startswith("test_") or last == "conftest" or last.endswith("_test")
