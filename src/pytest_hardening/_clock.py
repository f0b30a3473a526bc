"""Clock: frozen, manually advanced time over freezegun that every thread of the app sees."""

from __future__ import annotations

import contextlib
import datetime as _dt
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

import freezegun.api

from ._clock_cache import ModuleScan
from ._clock_deadlines import DeadlineWatch
from ._clock_freeze import EXTRA_IGNORE, start_freeze, stop_freeze
from ._clock_holders import RealClockHolders
from ._clock_monotonic import Anchor
from ._clock_reach import StoredClocks
from ._fake_dates import teach_pydantic_the_fake_dates
from ._freezegun_races import watch_readings
from ._loop_deadlines import PassedDeadlines
from ._sleep_watch import RealSleep, SleepWatch
from ._sqlalchemy_dates import SqlalchemyFakeDates
from ._virtual_time import ClockNotRunning

if TYPE_CHECKING:
    from ._clock_cache import ClockCache

__all__ = ["Clock"]


class Clock:
    """Frozen time that moves only when told to.

    ``time.time``/``monotonic``/``perf_counter`` and ``datetime.now`` are frozen (freezegun,
    ``real_asyncio=True`` so event loops keep scheduling on real time) and move with
    :meth:`advance`; ``monotonic`` and ``perf_counter`` go on from their real values, without
    a jump (see :mod:`._clock_monotonic`). A context manager; :meth:`start`/:meth:`stop` for
    fixtures.

    Objects that stored a real time function before the clock started (a breaker built with
    ``clock=time.monotonic``) are re-pointed to the frozen one for as long as the clock runs;
    one that cannot be (see :meth:`problems`) makes :meth:`advance` fail, naming it. Modules in
    ``ignore`` (prefixes) are left on real time. A ``cache`` shared by the clocks of a test
    session makes starting and first moving them cheaper (see :mod:`._clock_cache`).
    """

    def __init__(
        self,
        start: _dt.datetime | None = None,
        *,
        ignore: Iterable[str] = (),
        cache: ClockCache | None = None,
    ) -> None:
        self._start_at = start
        self._ignore = tuple(ignore)
        self._cache = cache
        self._freezer: Any = None
        self._factory: Any = None
        self._stored: StoredClocks | None = None  # from the first move of each run
        self._listeners: list[Callable[[float], None]] = []
        self._before: list[Callable[[], None]] = []
        self._advanced = 0.0
        self._anchor: Anchor | None = None  # kept across paused(): monotonic never goes back
        self._sleeps = SleepWatch()
        self._sqlalchemy_dates = SqlalchemyFakeDates()  # as long as the freeze
        self._deadlines: DeadlineWatch | None = None  # while started
        self._frozen_waits: list[str] = []  # what the deadline watches found
        self._passed = PassedDeadlines()
        self._owed: list[float] | None = None  # advances asked while paused()
        self._aside: dict[str, ModuleType] = {}  # modules outside sys.modules, patched too
        # Starting, stopping and moving are one step each for every thread: a worker thread's
        # virtual back-off that races the test's end sees the clock running or stopped, never
        # half-stopped (it then sleeps for real).
        self._lock = threading.RLock()

    @property
    def active(self) -> bool:
        return self._factory is not None

    @property
    def advanced(self) -> float:
        """Total seconds this clock was moved forward."""
        return self._advanced

    @property
    def real_sleeps(self) -> list[RealSleep]:
        """``(module, seconds)`` of each real ``time.sleep`` the app's code made while this
        clock was frozen, in a thread serving the test (see :mod:`._sleep_watch`): time the
        test waited for nothing."""
        return list(self._sleeps.sleeps)

    @property
    def background_sleeps(self) -> list[RealSleep]:
        """``(module, seconds)`` of each real ``time.sleep`` asked for while this clock was
        frozen by a thread that does not serve the test (a library's background poller): its
        own timing, not back-off the test waited for (see :mod:`._virtual_time`)."""
        return list(self._sleeps.background)

    def start(self) -> Clock:
        with self._lock:
            self._start()  # refuses a clock already running: no watch before this one
            self._deadlines = DeadlineWatch(lambda: self._advanced, found=self._frozen_waits)
            assert self._anchor is not None
            self._anchor.on_read = self._deadlines.read
            watch_readings(self._factory, self._deadlines.read_wall)  # time.time's
            return self

    def _start(self) -> Clock:
        if self._factory is not None:
            raise RuntimeError("Clock is already running")
        start_at = self._start_at or _dt.datetime.now(_dt.timezone.utc)
        teach_pydantic_the_fake_dates()
        self._sqlalchemy_dates.install()
        if self._anchor is None:  # at the instant the freeze will hold, as freezegun reads it
            self._anchor = Anchor(freezegun.api.convert_to_timezone_naive(start_at))
        # Through a module scan even without a cache: freezegun's own start calls getattr on
        # every name of every module, which runs lazy modules' __getattr__ (imports).
        scan = self._cache.modules if self._cache is not None else ModuleScan()
        self._freezer, self._factory = start_freeze(start_at, self._anchor, scan, self._aside)
        self._sleeps.bound = scan.bound_sleeps  # read by that start: no pass of its own
        if self._deadlines is not None:  # frozen again after paused(): a new freeze's readings
            watch_readings(self._factory, self._deadlines.read_wall)
        self._sleeps.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._stop()
            self._anchor = None
            self._sleeps.stop()
            self._sleeps.bound = None  # the module scan (cacheless: thousands of weak refs)
            if self._deadlines is not None:
                self._deadlines.stop()
                self._deadlines = None

    def _stop(self, *, pausing: bool = False) -> None:
        self._sleeps.pause()
        stored, self._stored = self._stored, None
        if stored is not None:
            stored.undo()
        freezer, self._freezer, self._factory = self._freezer, None, None
        stop_freeze(freezer, self._anchor, pausing=pausing)
        self._sqlalchemy_dates.remove()

    @property
    def frozen_waits(self) -> list[str]:
        """Loops that waited for a deadline on this frozen clock, which never came, and were
        ended (their reading raised :class:`FrozenDeadlineError`): one message each, saying
        where (see :mod:`._clock_deadlines`)."""
        return list(self._frozen_waits)

    @property
    def passed_deadlines(self) -> list[str]:
        """Deadlines of the event loop (``asyncio.timeout``/``wait_for``, anyio's
        ``fail_after``) that a move of this clock from inside the loop passed, and which did
        not fire, the loop keeping real time: one message per cause and kind of deadline,
        saying what moved the clock and what to do (see :mod:`._loop_deadlines`)."""
        return self._passed.messages()

    def problems(self) -> list[str]:
        """Holders of a real time function the clock cannot re-point (empty when none)."""
        return list(self._reach().problems)

    def repointed(self) -> list[str]:
        """Holders of a real time function that the clock re-pointed."""
        return list(self._reach().patched)

    def _reach(self) -> RealClockHolders:
        # Swept when time first moves, not at start: a test that never advances pays nothing,
        # and the replacement continues the real clock's timeline, so nothing jumps.
        self._require_active()
        if self._stored is None:
            self._stored = StoredClocks(
                self._freezer,
                self._factory,
                ignore=(*self._ignore, *EXTRA_IGNORE),
                cache=self._cache,
                advanced=lambda: self._advanced,
            )
        return self._stored.holders()

    def advance(self, seconds: float) -> None:
        """Move every frozen clock forward by ``seconds`` (no real waiting)."""
        if seconds < 0:
            raise ValueError(f"a clock only moves forward; got advance({seconds})")
        self._passed.note(seconds, self._advanced)
        for look in list(self._before):
            look()
        with self._lock:
            if not self._move(seconds):
                return
        for listener in list(self._listeners):
            listener(seconds)

    def _move(self, seconds: float) -> bool:
        """Move the frozen time (under the lock); False when the move is owed instead."""
        owed = self._owed
        if owed is not None:
            # Paused (an app's startup runs in real time): a provider's latency met there moves
            # the clock when it resumes, so the test sees the time the startup took.
            owed.append(seconds)
            return False
        self._require_active()
        factories = getattr(freezegun.api, "freeze_factories", [])
        if self._factory in factories and factories[-1] is not self._factory:
            raise RuntimeError(
                "clock.advance(): a freezegun freeze started after the clock (a @freeze_time "
                "decorator on the test, or a `with freeze_time(...)` block) is on top of it, "
                "and the app reads that one's time: advancing the clock would move nothing it "
                "sees. Drop that freeze and start the clock where the test needs it "
                '(@pytest.mark.hardening_clock("2020-01-01T00:00:00+00:00")), or move the '
                "inner freeze with its own tick() or move_to()."
            )
        problems = self.problems()
        if problems:
            raise RuntimeError(
                "clock.advance() cannot move everything that reads time:\n"
                + "\n".join(f"- {p}" for p in problems)
            )
        self._factory.tick(_dt.timedelta(seconds=seconds))
        self._advanced += seconds
        return True

    def on_advance(self, listener: Callable[[float], None]) -> Callable[[], None]:
        """Call ``listener(seconds)`` after each :meth:`advance` (e.g. ``breakers.advance``, for
        breakers on a clock of their own); returns the function that removes it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    def before_advance(self, listener: Callable[[], None]) -> Callable[[], None]:
        """Call ``listener()`` before each :meth:`advance` moves the time (``breakers`` looks
        at breakers that report no transitions of their own: what the requests since the last
        look did is recorded before the time moves them on); returns the function that removes
        it."""
        self._before.append(listener)
        return lambda: self._before.remove(listener)

    def monotonic(self) -> float:
        """The ``time.monotonic()`` value the app currently sees."""
        self._require_active()
        return time.monotonic()

    def now(self) -> _dt.datetime:
        """The current frozen time as an aware UTC datetime."""
        self._require_active()
        return _dt.datetime.now(_dt.timezone.utc)

    def include(self, modules: Mapping[str, ModuleType]) -> None:
        """Freeze time in ``modules`` too, though they are not in ``sys.modules``: the copy of
        an app's package imported aside (``app_from_import``), whose ``from datetime import
        datetime`` would otherwise read real time. From the clock's next start; a running
        clock restarts at once."""
        new = {f"{name} (aside {id(m):x})": m for name, m in modules.items()}
        if not new.keys() - self._aside.keys():
            return
        self._aside.update(new)
        if self._factory is not None:
            with self.paused():
                pass

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Real time inside the block; frozen again afterwards at the instant it was paused.

        For work that must not run under freezegun: importing a module for the first time
        while time is frozen makes it keep freezegun's fake classes for good (building an app,
        starting its lifespan). An :meth:`advance` asked inside the block (a fault's latency
        met during startup) moves the clock when it resumes.
        """
        with self._lock:
            frozen_at = self._factory() if self._factory is not None else None
            owed_list: list[float] = []
            if frozen_at is not None:
                self._stop(pausing=True)
                self._owed = owed_list  # in the same step: an advance meanwhile is owed
        if frozen_at is None:
            yield
            return
        try:
            yield
        finally:
            with self._lock:
                self._start_at = frozen_at.replace(tzinfo=_dt.timezone.utc)
                self._start()
                self._owed = None
                owed = sum(owed_list)
            if owed:
                self.advance(owed)

    def _require_active(self) -> None:
        if self._factory is None:
            raise ClockNotRunning(
                "Clock is not running: use it as a context manager or call start()"
            )

    def __enter__(self) -> Clock:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
