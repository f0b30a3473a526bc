"""A harness per scenario run: env, frozen clock, faults, Sentry, breakers, APM.

The app is built afresh per run, or, inside :meth:`HarnessSession.reusing` and with a
``reset``, built once and reset between runs (the pool the hardened fixtures use). With a
``reset``, a freshly built app is reset too: what it stores outside itself (a database file,
the one app a module builds at import) outlives the build.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import random
import sys
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_hardening._config import AppFactory
from pytest_hardening._fault_advice import CHAOS
from pytest_hardening._harness import Harness
from pytest_hardening._kept import AppReset, reset_raised
from pytest_hardening._loop_deadlines import warn_passed_deadlines
from pytest_hardening._providers import ProviderSpec
from pytest_hardening._reuse import AppPool, AppReuseWarning, pool_key
from pytest_hardening._wrapped import app_state
from pytest_hardening.chaos._context import ChaosContext
from pytest_hardening.chaos._timeline import Timeline

# Every run starts at the same frozen instant: together with the seed this makes runs replayable.
EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def _app_breakers(app: Any) -> Any:
    # An app without breakers has none to watch: its scenarios check answers and data alone.
    found = getattr(app_state(app), "breakers", None)
    return {} if found is None else found


def _app_apm(app: Any) -> Any:
    return getattr(app_state(app), "apm", None)


@dataclass(frozen=True)
class HarnessSession:
    """``session(seed)`` → a context manager yielding a ready :class:`ChaosContext`: a fresh
    app in a :class:`~pytest_hardening._harness.Harness` (the same one the fixtures use) with
    the clock frozen at :data:`EPOCH`, faults, a client sending ``headers``, breakers and APM.

    With ``reset`` (the app's reset, as for ``hardening_app_reset``), every run starts from a
    reset app: runs inside :meth:`reusing` share one running app, reset before each run,
    instead of building one each (an app whose run failed is not reused); a run outside, or
    the first inside, resets the app it built once its lifespan has started.
    """

    app_factory: AppFactory
    env: Mapping[str, str]
    providers: Mapping[str, ProviderSpec]
    breakers: Callable[[Any], Any] = _app_breakers
    apm: Callable[[Any], Any] = _app_apm
    clear: Iterable[str] = field(default_factory=tuple)
    headers: Mapping[str, str] = field(default_factory=dict)
    reset: AppReset | None = None
    #: The app's own modules whose retry loops sleep between attempts: their back-off moves
    #: the clock (``FaultInjector.virtual_backoff``, as ``hardening_backoff_modules``).
    backoff_modules: Iterable[str] = field(default_factory=tuple)
    #: Where each run's clock starts. The fixed :data:`EPOCH` makes runs replay to the
    #: microsecond, dates included; but the app's startup runs in real time, so wall-clock
    #: values it stores then (a token's expiry) lie months in its future. ``None``: the real
    #: now, as fixture tests start (relative times still replay; dates do not).
    epoch: dt.datetime | None = EPOCH
    #: Shared by the runs of this session: apps kept inside :meth:`reusing`, and what the
    #: clocks learn about the process (module scans, holder owners).
    pool: AppPool = field(default_factory=AppPool, compare=False, repr=False)
    _reusing: list[bool] = field(default_factory=list, init=False, compare=False, repr=False)

    @contextlib.contextmanager
    def reusing(self) -> Iterator[None]:
        """Runs inside keep the app running between them (when the session has a ``reset``);
        it is shut down on leaving. Outside, every run builds and stops its own app."""
        self._reusing.append(True)
        try:
            yield
        finally:
            self._reusing.pop()
            if not self._reusing:
                self.pool.close()
                for problem in self.pool.shutdown_problems:
                    warnings.warn(problem, AppReuseWarning, stacklevel=3)
                self.pool.shutdown_problems.clear()

    def warm_up(self) -> None:
        """Set up and tear down one run, moving its clock: what only a process's first run
        pays (the app's first build imports Sentry's integrations, the clock scans every
        module) is paid here, and workers forked afterwards inherit it.

        With a ``reset``, outside :meth:`reusing`, the app's lifespan is not started: the
        runs share one running app, and a build may hand them this very object (the app a
        module builds at import), whose shutdown here would have closed what its startup
        cannot open again (a module-level client). Inside, the warm-up's app is kept for the
        runs, as a run's is."""
        if self.reset is not None and not self._reusing:
            self._warm_up_unstarted()
            return
        with self(0) as ctx:
            ctx.clock.advance(0)

    def _warm_up_unstarted(self) -> None:
        # A run's set-up up to its lifespan (build, faults, clock); a build error still shows
        # here, once. No client, so no reset and no breakers: both need the started app.
        with Harness(seed=0, epoch=self.epoch, pool=self.pool) as harness:
            harness.build(self.app_factory, self.env, clear=self.clear)
            faults = harness.fake_providers(self.providers)
            if self.backoff_modules:
                faults.virtual_backoff(*self.backoff_modules)
            harness.freeze().advance(0)

    @contextlib.contextmanager
    def __call__(self, seed: int) -> Iterator[ChaosContext]:
        reset = self.reset if self._reusing else None
        clean = False
        try:
            with self._run(seed, reset) as ctx:
                yield ctx
                clean = not ctx.failures
        finally:
            if reset is not None and not clean:  # a failed run may leave what no reset undoes
                self.pool.discard(pool_key(self.app_factory, self.env, self.clear))

    @contextlib.contextmanager
    def _run(self, seed: int, reset: AppReset | None) -> Iterator[ChaosContext]:
        with contextlib.ExitStack() as stack:
            logs = stack.enter_context(_LogTap())
            stack.enter_context(_quick_thread_handoffs())
            harness = stack.enter_context(Harness(seed=seed, epoch=self.epoch, pool=self.pool))
            reuses = self.pool.reuses
            app = harness.build(self.app_factory, self.env, clear=self.clear, reset=reset)
            built = self.pool.reuses == reuses  # else taken from the pool, reset already
            faults = harness.fake_providers(self.providers)
            faults.advice = CHAOS
            if self.backoff_modules:
                faults.virtual_backoff(*self.backoff_modules)
            # The lifespan runs in real time either way; started before the clock, the clock
            # does not have to stop and start again around it.
            client = harness.client(headers=self.headers)
            if built and self.reset is not None and reset is None:  # a kept build: reset already
                _reset_built(harness, self.reset)
            clock = harness.freeze()
            raw = self.breakers(app)
            inspector = harness.inspect_breakers(raw)
            reasons = _ReasonTap(raw)
            harness.callback(reasons.stop)
            apm_obj = self.apm(app)
            stack.enter_context(_seeded_global_random(seed))
            # As the clock fixture: a run whose virtual waits passed the app's loop deadlines
            # saw answers production never gives (under pytest a warning of the test's).
            stack.callback(lambda: warn_passed_deadlines(clock.passed_deadlines))
            yield ChaosContext(
                app=app,
                client=client,
                faults=faults,
                clock=clock,
                breakers=inspector,
                seed=seed,
                timeline=Timeline(),
                sentry=harness.sentry,
                apm=harness.watch_apm(apm_obj) if apm_obj is not None else None,
                rng=random.Random(seed),
                reasons=reasons.log,
                logs=logs.lines,
            )


def _reset_built(harness: Harness, reset: AppReset) -> None:
    """The owner's reset of an app just built, its lifespan running: a fresh build can still
    hold an earlier run's data (a database file, the app a module built at import)."""
    try:
        harness.reset_app(reset)
    except Exception as error:
        raise RuntimeError(
            reset_raised(
                reset,
                error,
                "on an app just built, before the run (every run with a reset starts from a "
                "reset app)",
                "fix the reset, or give none (HarnessSession(reset=None)) if a build starts empty",
                of="session",
            )
        ) from error


@contextlib.contextmanager
def _seeded_global_random(seed: int) -> Iterator[None]:
    """The module-level ``random`` seeded for the run, restored afterwards. Libraries draw
    from it: the OpenAI and Anthropic SDKs jitter their retry back-off with it, and that
    back-off moves the virtual clock; unseeded, a replay of the same seed drifted by
    fractions of a second (and with it every later time on the timeline)."""
    state = random.getstate()
    random.seed(f"pytest-hardening chaos {seed}")
    try:
        yield
    finally:
        random.setstate(state)


@contextlib.contextmanager
def _quick_thread_handoffs(interval: float = 0.0002) -> Iterator[None]:
    """In-process runs hop between threads on every request (TestClient portal, event loop,
    the database driver's worker); with CPython's default 5 ms switch interval most of a run
    is spent waiting for the GIL. Restored afterwards."""
    previous = sys.getswitchinterval()
    sys.setswitchinterval(min(previous, interval))
    try:
        yield
    finally:
        sys.setswitchinterval(previous)


class _ReasonTap:
    """Why each transition happened and when (breaker clock), for breakers that say so
    (the native protocol's ``Transition.reason``/``.at``); others get generic labels."""

    def __init__(self, breakers: Any) -> None:
        self.log: dict[str, list[tuple[str, float]]] = {}
        self._undo: list[Callable[[], None]] = []
        items = breakers.items() if isinstance(breakers, Mapping) else ()
        for name, breaker in items:
            if callable(getattr(breaker, "add_listener", None)) and hasattr(breaker, "transitions"):
                entries: list[tuple[str, float]] = []
                self.log[name] = entries
                self._undo.append(breaker.add_listener(self._recorder(entries)))

    @staticmethod
    def _recorder(entries: list[tuple[str, float]]) -> Callable[[Any], None]:
        def record(transition: Any) -> None:
            entries.append((str(getattr(transition, "reason", "")), float(transition.at)))

        return record

    def stop(self) -> None:
        while self._undo:
            self._undo.pop()()


class _LogTap(logging.Handler):
    """Keeps the app's warnings and errors of one run that reach the root logger, for failure
    messages; it prints nothing. Handlers the app set up itself still write where they write
    (a logger with ``propagate=False`` and a stream handler of its own: its lines are not
    kept here, and they show between the report's)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = f"{record.levelname} {record.name}: {record.getMessage()}".splitlines()[0]
        error = _innermost(record.exc_info[1]) if record.exc_info and record.exc_info[1] else None
        if error is not None:  # what was raised: a traceback's last line
            raised = traceback.format_exception_only(type(error), error)
            line += " -> " + "".join(raised).strip().splitlines()[0]
        self.lines.append(line)

    def __enter__(self) -> _LogTap:
        logging.getLogger().addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        logging.getLogger().removeHandler(self)


def _innermost(error: BaseException) -> BaseException:
    """What a task group's exception group wraps (its first leaf): the app's own error, not
    "unhandled errors in a TaskGroup (1 sub-exception)". Duck-typed: Python 3.10 has groups
    only from the ``exceptiongroup`` backport."""
    while True:
        inner = getattr(error, "exceptions", None)
        if not isinstance(inner, tuple) or not inner or not isinstance(inner[0], BaseException):
            return error
        error = inner[0]
