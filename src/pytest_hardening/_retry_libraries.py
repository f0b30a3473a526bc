"""Virtual back-off for the retry libraries apps use: tenacity, backoff, google-api-core.

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
- backoff, httpx-retries (``RetryTransport``), retrying and google-api-core (the retries of
  the Google Cloud clients) call ``time.sleep`` and ``asyncio.sleep`` through their modules'
  own names: those names are pointed at stand-ins
  whose ``sleep`` is virtual (all else is the real module).

The app's own back-off (``await asyncio.sleep(delay)`` in a retry loop) is reached the same way,
for the modules named to :meth:`VirtualLibrarySleep.own_modules`: the ``time``, ``asyncio`` and
``anyio`` modules they hold under any name, and a ``sleep`` imported from one of those.

Without a clock the libraries sleep as in production. Only libraries the app has imported are
patched (:meth:`VirtualLibrarySleep.start` again reaches those imported since).
Tested with tenacity 8.2 and 9.x, stamina 24-26, backoff 2.x, httpx-retries 0.6 and retrying 1.4;
google-api-core 2.44 in a trial.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import sys
import time
import types
from collections.abc import Callable, Iterable, Mapping
from types import ModuleType
from typing import Any, Protocol

from ._class_patches import ClassPatches, import_if_loaded
from ._sleeps_inside import CallersSleeps, sleeps_inside
from ._virtual_time import ServingThreads, moved

__all__ = ["PACKAGES", "VirtualLibrarySleep"]

#: The libraries' top-level packages.
PACKAGES = frozenset({"backoff", "google", "httpx_retries", "redis", "retrying", "tenacity"})
#: Modules that sleep through their own ``time`` / ``asyncio`` names, each with a name it must
#: have (an app's own module called ``retrying`` is not the library). google-api-core's retry
#: loops are what every Google Cloud client (Firestore, Pub/Sub, Tasks) retries with.
_SYNC_SLEEPERS = (
    ("backoff._sync", "retry_exception"),
    ("httpx_retries.retry", "Retry"),
    ("retrying", "Retrying"),
    ("google.api_core.retry.retry_unary", "retry_target"),
    ("google.api_core.retry.retry_streaming", "retry_target_stream"),
)
_ASYNC_SLEEPERS = (
    ("backoff._async", "retry_exception"),
    ("httpx_retries.retry", "Retry"),
    ("google.api_core.retry.retry_unary_async", "retry_target"),
    ("google.api_core.retry.retry_streaming_async", "retry_target_stream"),
)
#: Modules that hold the sleep function itself (``from time import sleep``): redis-py's
#: ``Retry``, which retries a refused or dropped connection with back-off by default (6.0+).
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


class _Standin:
    """A module's stand-in: ``sleep`` replaced, every other name the real module's."""

    def __init__(self, real: ModuleType, sleep: Callable[..., Any]) -> None:
        self._real = real
        self.sleep = sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def _findable(name: str) -> bool:
    """Whether ``name`` could be imported, found without running any module: the part after
    its deepest loaded package is looked up (the top-level name when none is loaded); what
    lies below a package not loaded yet counts as findable."""
    parts = name.split(".")
    depth = next((d for d in range(len(parts) - 1, 0, -1) if ".".join(parts[:d]) in sys.modules), 0)
    try:
        return importlib.util.find_spec(".".join(parts[: depth + 1])) is not None
    except (ImportError, ValueError):
        return False


class VirtualLibrarySleep:
    """While started, tenacity's and backoff's default back-off sleeps advance ``clock()``
    (when it returns a clock) instead of sleeping, in the threads that serve the test
    (``threads``: see :mod:`._virtual_time`); each delay is appended to ``sleeps``."""

    def __init__(
        self,
        clock: Callable[[], _Clock | None],
        sleeps: list[float],
        real_sleeps: list[float] | None = None,
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
        self._own: list[ModuleType] = []
        self._named: list[str] = []  # the modules named by name, for their copies aside
        self._aside: dict[str, ModuleType] = {}  # copies imported aside (app_from_import)
        # Named, not imported yet: never imported here, since importing a module of the app
        # runs what it reads at import (its settings), and the test's environment may not be
        # in place yet; reached once something imports it (see _interception's watch).
        self._pending: list[str] = []
        #: Why a module named before it was imported was refused once it was (see
        #: :meth:`own_modules`): reported with the test's problems, not raised into the import.
        self.refused: list[str] = []
        self._defaults: list[tuple[Any, Any, Any]] = []  # (function, defaults, kwdefaults)
        #: The modules whose functions import ``time``/``asyncio`` inside themselves: the
        #: watches of real sleeps move the clock for their sleeps (see _sleeps_inside).
        self.callers = CallersSleeps(self._moved)

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
        if self._pending:  # the app may have imported them since
            pending, self._pending = self._pending, []
            try:
                self.own_modules(pending, started=False)
            except ValueError as error:  # inside the app's import: said at the test's end
                self.refused.append(str(error))
        inline = [m for m in self._inline if m not in self._own]
        if inline:
            with contextlib.suppress(ValueError):  # a release that holds nothing that sleeps
                self.own_modules(inline, started=False)
        for module in self._own:
            self._own_module(module)
        return self

    @property
    def unresolved(self) -> list[str]:
        """Modules named for virtual back-off that nothing imported yet."""
        return list(self._pending)

    @property
    def unfound(self) -> list[str]:
        """Of :attr:`unresolved`, those that could not be imported at all (a wrong name)."""
        return [name for name in self._pending if not _findable(name)]

    def own_modules(self, modules: Iterable[str | ModuleType], *, started: bool) -> None:
        """Make the back-off of the app's own ``modules`` virtual: the ``time``, ``asyncio`` and
        ``anyio`` modules they hold, under any name (``import time as _time``), and a ``sleep``
        imported from one of them (patched now when ``started``, else at :meth:`start`). A
        name not imported yet is reached once something imports it (never imported here). A
        module holding none of those is an error (``ValueError``; said in :attr:`refused` for
        one imported later): nothing there would sleep in virtual time."""
        found: list[ModuleType] = []
        for named in modules:
            module = named if isinstance(named, ModuleType) else sys.modules.get(named)
            if isinstance(named, str):
                self._named.append(named)
                if named in self._aside:  # the copy the app was built from runs it too
                    found.append(self._aside[named])
            if module is not None:
                found.append(module)
            elif named not in self._pending:
                self._pending.append(str(named))
        refused = [m for m in found if not _sleeps_of(m)]
        found = [m for i, m in enumerate(found) if m not in found[:i] + refused + self._own]
        self._own.extend(found)  # named again (twice, by the fixture and a call): once
        if started:
            for module in found:
                self._own_module(module)
        if refused:
            raise ValueError(
                f"{refused[0].__name__} holds neither the `time`, `asyncio` or `anyio` module "
                "(under any name) nor a `sleep` imported from one of them, and none of its "
                "functions imports `time` or `asyncio` to sleep: name the module whose code "
                "calls `time.sleep`, `asyncio.sleep` or `anyio.sleep` between its attempts"
            )

    def include_aside(self, modules: Mapping[str, ModuleType], *, started: bool) -> None:
        """The copies imported aside (``app_from_import``, beside the tests' own import of the
        app) of the modules named: an app built from the copy backs off through them, which
        ``sys.modules`` does not hold. Named later, a module's copy is found by its name."""
        self._aside.update(modules)
        copies = [modules[name] for name in dict.fromkeys(self._named) if name in modules]
        new = [m for m in copies if m not in self._own and _sleeps_of(m)]
        self._own.extend(new)
        if started:
            for module in new:
                self._own_module(module)

    def _own_module(self, module: ModuleType) -> None:
        for name, real in _own_sleepers(module).items():
            if self._patches.patched(module, name):
                continue
            sleep = self._virtual(real)
            replacement = _Standin(real, sleep) if isinstance(real, ModuleType) else sleep
            self._patches.patch(module, name, replacement)
        functions = _functions_of(module)
        for function in functions:
            self._own_defaults(function)
        if sleeps_inside(functions):
            self.callers.add(module)

    def _virtual(self, real: Any) -> Callable[..., Any]:
        real = _real_of(real)  # another injector's stand-in: the sleep it stands for
        sync = real is time or real is _SLEEPS[0] or real is time.sleep
        return self._sync_sleep if sync else self._own_async_sleep

    def _own_defaults(self, function: Any) -> None:
        """A sleep held as a default argument (``def __init__(self, sleep=asyncio.sleep)``, so
        that tests can inject one) is bound when the ``def`` runs: the module's names alone
        never reach it. Such defaults get the virtual sleep until :meth:`stop`."""
        if any(done is function for done, _, _ in self._defaults):
            return
        defaults, kwdefaults = function.__defaults__, function.__kwdefaults__
        found = [v for v in (*(defaults or ()), *(kwdefaults or {}).values()) if _is_sleep(v)]
        if not found:  # compared by identity only: defaults may be anything
            return
        self._defaults.append((function, defaults, kwdefaults))
        if defaults:
            function.__defaults__ = tuple(self._virtual(v) if _is_sleep(v) else v for v in defaults)
        if kwdefaults:
            function.__kwdefaults__ = {
                k: self._virtual(v) if _is_sleep(v) else v for k, v in kwdefaults.items()
            }

    def stop(self) -> None:
        self._patches.undo()
        self.callers.clear()
        defaults, self._defaults = self._defaults, []
        for function, saved, kwsaved in reversed(defaults):
            function.__defaults__, function.__kwdefaults__ = saved, kwsaved

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
            self._patches.patch(module, attr, _Standin(real, sleep))

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
        real = _SLEEPS[0] if sync else _SLEEPS[1]
        if module is None or not hasattr(module, marker) or not (_real_of(held) is real or theirs):
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
            await _real_async_sleep(0)  # still a checkpoint, as the real sleep was
        else:
            await _real_async_sleep(seconds)

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
            self.real_sleeps.append(seconds)
            return False
        if not moved(clock, seconds):
            return False
        self.sleeps.append(seconds)
        return True

    async def _own_async_sleep(self, seconds: float, result: Any = None) -> Any:
        # ``asyncio.sleep(delay, result)``'s signature; ``sleep(0)`` is a checkpoint, no back-off.
        if seconds > 0:
            await self._async_sleep(seconds)
        else:
            await _real_async_sleep(0)
        return result


def _stamina() -> tuple[Any, ...]:
    """stamina's async sleep (``stamina._core._smart_sleep``: asyncio's or trio's), which its
    async retries pass to tenacity as ``sleep=``; nothing when stamina is not imported."""
    smart = getattr(sys.modules.get("stamina._core"), "_smart_sleep", None)
    return (smart,) if callable(smart) else ()


#: The sleeps as the standard library made them (a test may replace ``asyncio.sleep`` later; a
#: module that imported ``sleep`` before still holds these).


def _sleeps_of(module: ModuleType) -> bool:
    """Whether ``module`` holds a sleep to make virtual: a module or a ``sleep`` among its names,
    or functions that import one inside themselves."""
    return bool(_own_sleepers(module)) or sleeps_inside(_functions_of(module))


def _own_sleepers(module: ModuleType) -> dict[str, Any]:
    """The names under which ``module`` holds the ``time``, ``asyncio`` or ``anyio`` module or
    one of their sleeps, each with the real one; through the stand-ins an outer injector put
    there, the real module or sleep they stand for."""
    modules = (time, asyncio, sys.modules.get("anyio"))
    found: dict[str, Any] = {}
    for name, value in list(vars(module).items()):
        value = _real_of(value)
        if any(value is real for real in modules) or _is_sleep(value):
            found[name] = value
    return found


def _real_of(value: Any) -> Any:
    """What an outer injector's stand-in (a module or a virtual sleep), or the clock's watch
    of real sleeps, stands for; else ``value`` itself."""
    while getattr(value, "__module__", "") == __package__ + "._sleep_watch":
        watched = getattr(value, "real_sleep", None)  # _sleep_watch's wrappers, one in another
        if watched is None:
            break
        value = watched
    if isinstance(value, _Standin):
        return value._real
    if isinstance(getattr(value, "__self__", None), VirtualLibrarySleep):
        own = getattr(value, "__func__", None)
        return time.sleep if own is VirtualLibrarySleep._sync_sleep else asyncio.sleep
    return value


_SLEEPS = (_real_of(time.sleep), _real_of(asyncio.sleep))


def _is_sleep(value: Any) -> bool:
    """A sleep a stand-in must replace: the standard library's or anyio's, or another
    injector's virtual one (a nested injector's stands in for it until it stops)."""
    value = _real_of(value)
    anyio = sys.modules.get("anyio")
    current = (time.sleep, asyncio.sleep)  # a watch's wrappers, or a test's stand-ins
    sleeps = (*_SLEEPS, *current, *map(_real_of, current), getattr(anyio, "sleep", None))
    return any(value is real for real in sleeps if real is not None)


def _functions_of(module: ModuleType) -> list[Any]:
    """The functions ``module`` defines, and the methods of the classes it defines (static and
    class methods too)."""
    found: list[Any] = []
    for value in list(vars(module).values()):
        if getattr(value, "__module__", None) != module.__name__:
            continue
        if isinstance(value, types.FunctionType):
            found.append(value)
        elif isinstance(value, type):
            for member in list(vars(value).values()):
                member = getattr(member, "__func__", member)  # staticmethod, classmethod
                if isinstance(member, types.FunctionType):
                    found.append(member)
    return found


async def _real_async_sleep(seconds: float) -> None:
    import anyio  # asyncio or trio, whichever runs the app (httpx brings anyio)

    await anyio.sleep(seconds)
