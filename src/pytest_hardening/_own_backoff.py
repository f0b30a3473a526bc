"""OwnBackoff: the back-off of the app's own modules, named by the test, in virtual time.

An app that retries in a loop of its own (``await asyncio.sleep(delay)`` between attempts)
sleeps through its module's names. For each module named (``hardening_backoff_modules``, the
``backoff_modules`` marker), the ``time``, ``asyncio`` and ``anyio`` modules it holds under any
name become stand-ins whose ``sleep`` is virtual (all else is the real module), and so does a
``sleep`` imported from one of them. A sleep held as a default argument is replaced too, and a
module whose functions import ``time`` or ``asyncio`` inside themselves is handed to the
watches of real sleeps (see :mod:`._sleeps_inside`).

A module named before anything imported it is never imported here (importing the app's module
runs what it reads at import); it is reached at the next start after something did. The
retry libraries' own modules are patched the same way (see :mod:`._retry_libraries`), with
the stand-in and the look-ups defined here.
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
from typing import Any

from ._class_patches import ClassPatches
from ._sleeps_inside import CallersSleeps, sleeps_inside

__all__ = ["SLEEPS", "OwnBackoff", "Standin", "real_async_sleep", "real_of"]

#: How an injector's virtual sleep (a bound method) says which real sleep it stands for.
STANDS_FOR = "_hardening_stands_for"


class Standin:
    """A module's stand-in: ``sleep`` replaced, every other name the real module's."""

    def __init__(self, real: ModuleType, sleep: Callable[..., Any]) -> None:
        self._real = real
        self.sleep = sleep

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


def real_of(value: Any) -> Any:
    """What an outer injector's stand-in (a module or a virtual sleep), or the clock's watch
    of real sleeps, stands for; else ``value`` itself."""
    while getattr(value, "__module__", "") == __package__ + "._sleep_watch":
        watched = getattr(value, "real_sleep", None)  # _sleep_watch's wrappers, one in another
        if watched is None:
            break
        value = watched
    if isinstance(value, Standin):
        return value._real
    stands_for = getattr(getattr(value, "__self__", None), STANDS_FOR, None)
    return stands_for(value) if callable(stands_for) else value


#: The sleeps as the standard library made them (a test may replace ``asyncio.sleep`` later; a
#: module that imported ``sleep`` before still holds these).
SLEEPS = (real_of(time.sleep), real_of(asyncio.sleep))


async def real_async_sleep(seconds: float) -> None:
    import anyio  # asyncio or trio, whichever runs the app (httpx brings anyio)

    await anyio.sleep(seconds)


class OwnBackoff:
    """The modules named for virtual back-off: ``sync_sleep`` and ``async_sleep`` replace the
    sleeps they hold while started (patched into ``patches``, which the owner undoes)."""

    def __init__(
        self,
        patches: ClassPatches,
        sync_sleep: Callable[[float], None],
        async_sleep: Callable[..., Any],
        moved: Callable[[float], bool],
    ) -> None:
        self._patches = patches
        self._sync_sleep = sync_sleep
        self._async_sleep = async_sleep
        self._own: list[ModuleType] = []
        self._named: list[str] = []  # the modules named by name, for their copies aside
        self._aside: dict[str, ModuleType] = {}  # copies imported aside (app_from_import)
        # Named, not imported yet: reached once something imports it (see _interception).
        self._pending: list[str] = []
        #: Why a module named before it was imported was refused once it was (see
        #: :meth:`name`): reported with the test's problems, not raised into the import.
        self.refused: list[str] = []
        self._defaults: list[tuple[Any, Any, Any]] = []  # (function, defaults, kwdefaults)
        #: The modules whose functions import ``time``/``asyncio`` inside themselves: the
        #: watches of real sleeps move the clock for their sleeps (see _sleeps_inside).
        self.callers = CallersSleeps(moved)

    @property
    def unresolved(self) -> list[str]:
        """Modules named for virtual back-off that nothing imported yet."""
        return list(self._pending)

    @property
    def unfound(self) -> list[str]:
        """Of :attr:`unresolved`, those that could not be imported at all (a wrong name)."""
        return [name for name in self._pending if not _findable(name)]

    def start(self, inline: Iterable[ModuleType]) -> None:
        """Patch the modules named (and ``inline``: libraries' modules that sleep inline in
        their retry loops), those imported since included."""
        if self._pending:  # the app may have imported them since
            pending, self._pending = self._pending, []
            try:
                self.name(pending, started=False)
            except ValueError as error:  # inside the app's import: said at the test's end
                self.refused.append(str(error))
        inline = [m for m in inline if m not in self._own]
        if inline:
            with contextlib.suppress(ValueError):  # a release that holds nothing that sleeps
                self.name(inline, started=False)
        for module in self._own:
            self._own_module(module)

    def name(self, modules: Iterable[str | ModuleType], *, started: bool) -> None:
        """Make the back-off of ``modules`` virtual (patched now when ``started``, else at
        :meth:`start`). A name not imported yet is reached once something imports it (never
        imported here). A module holding no sleep is an error (``ValueError``; said in
        :attr:`refused` for one imported later): nothing there would sleep in virtual time."""
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

    def stop(self) -> None:
        """Put back the default arguments replaced (the owner undoes the patches)."""
        self.callers.clear()
        defaults, self._defaults = self._defaults, []
        for function, saved, kwsaved in reversed(defaults):
            function.__defaults__, function.__kwdefaults__ = saved, kwsaved

    def _own_module(self, module: ModuleType) -> None:
        for name, real in _own_sleepers(module).items():
            if self._patches.patched(module, name):
                continue
            sleep = self._virtual(real)
            replacement = Standin(real, sleep) if isinstance(real, ModuleType) else sleep
            self._patches.patch(module, name, replacement)
        functions = _functions_of(module)
        sleeps = _real_sleeps()
        for function in functions:
            self._own_defaults(function, sleeps)
        if sleeps_inside(functions):
            self.callers.add(module)

    def _virtual(self, real: Any) -> Callable[..., Any]:
        real = real_of(real)  # another injector's stand-in: the sleep it stands for
        sync = real is time or real is SLEEPS[0] or real is time.sleep
        return self._sync_sleep if sync else self._async_sleep

    def _own_defaults(self, function: Any, sleeps: frozenset[int]) -> None:
        """A sleep held as a default argument (``def __init__(self, sleep=asyncio.sleep)``, so
        that tests can inject one) is bound when the ``def`` runs: the module's names alone
        never reach it. Such defaults get the virtual sleep until :meth:`stop`."""
        if any(done is function for done, _, _ in self._defaults):
            return
        defaults, kwdefaults = function.__defaults__, function.__kwdefaults__
        if not defaults and not kwdefaults:
            return

        def is_sleep(value: Any) -> bool:  # compared by identity only: defaults may be anything
            return id(real_of(value)) in sleeps

        if not any(map(is_sleep, (*(defaults or ()), *(kwdefaults or {}).values()))):
            return
        self._defaults.append((function, defaults, kwdefaults))
        if defaults:
            function.__defaults__ = tuple(self._virtual(v) if is_sleep(v) else v for v in defaults)
        if kwdefaults:
            function.__kwdefaults__ = {
                k: self._virtual(v) if is_sleep(v) else v for k, v in kwdefaults.items()
            }


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


def _sleeps_of(module: ModuleType) -> bool:
    """Whether ``module`` holds a sleep to make virtual: a module or a ``sleep`` among its names,
    or functions that import one inside themselves."""
    return bool(_own_sleepers(module)) or sleeps_inside(_functions_of(module))


def _own_sleepers(module: ModuleType) -> dict[str, Any]:
    """The names under which ``module`` holds the ``time``, ``asyncio`` or ``anyio`` module or
    one of their sleeps, each with the real one; through the stand-ins an outer injector put
    there, the real module or sleep they stand for."""
    modules = (time, asyncio, sys.modules.get("anyio"))
    wanted = _real_sleeps() | {id(m) for m in modules if m is not None}
    found: dict[str, Any] = {}
    for name, value in list(vars(module).items()):
        value = real_of(value)
        if id(value) in wanted:
            found[name] = value
    return found


def _real_sleeps() -> frozenset[int]:
    """The ids of the sleeps a stand-in must replace: the standard library's or anyio's, or
    another injector's virtual one (a nested injector's stands in for it until it stops), each
    looked at through :func:`real_of`. Valid while they are held (module attributes)."""
    anyio = sys.modules.get("anyio")
    current = (time.sleep, asyncio.sleep)  # a watch's wrappers, or a test's stand-ins
    sleeps = (*SLEEPS, *current, *map(real_of, current), getattr(anyio, "sleep", None))
    return frozenset(id(real) for real in sleeps if real is not None)


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
