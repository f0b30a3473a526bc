"""AppPool: apps kept running between tests and reset instead of rebuilt.

Building an app and starting its lifespan costs far more than a test's requests. An app whose
owner says how to reset it (a ``reset(app)`` callable, sync or async: breakers closed,
metrics zeroed, database rows and caches emptied) is kept with its running ``TestClient``
after a test and handed to the next test built from the same factory and environment, reset
first. See docs/harness.md, "Reusing the app between tests".

Safety net: an app whose ``app.state`` or ``dependency_overrides`` a test changed is not kept
(the reset cannot know about such changes); neither is one whose reset failed.

An idle app is *parked* (see :class:`~._kept.Kept`): its background tasks cannot act on what
the running test puts in a database they share.

The pool is what hardened tests of a session share, so it also keeps the clocks' cache
(:class:`~._clock_cache.ClockCache`: module scans and holder owners), which needs no reset, and
each factory's :class:`~._cached_getters.CachedGetters`, and the TLS context its apps' default
httpx clients share (:class:`~._shared_tls.SharedTLSContexts`).
"""

from __future__ import annotations

import contextlib
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, cast

from ._kept import AppReset, Kept, fingerprint, reset_raised

if TYPE_CHECKING:
    from ._cached_getters import CachedGetters
    from ._clock_cache import ClockCache
    from ._shared_tls import SharedTLSContexts

__all__ = ["AppPool", "AppReuseWarning", "pool_key"]


def pool_key(factory: Callable[[], Any], env: Mapping[str, str], clear: Iterable[str]) -> Hashable:
    """Apps are interchangeable only when built by the same factory under the same env."""
    return (factory, frozenset(env.items()), frozenset(clear))


def _shutdown_report(app: Any, refused: list[str], error: Exception | None, size: int) -> str:
    title = getattr(app, "title", None)
    name = f"{type(app).__name__} {title!r}" if isinstance(title, str) else type(app).__name__
    tried = []
    if refused:
        lines = "\n".join(refused[:10])
        tried.append(f"tried to reach the network; each connection was refused:\n{lines}")
    if error is not None:
        tried.append(f"raised {type(error).__name__}: {error}")
    what = f"the lifespan shutdown of {name}, an app kept between tests, " + "\nand ".join(tried)
    return (
        f"{what}\nKept apps shut down when the session ends (or when more than {size} are "
        "kept), after every test's own fixtures were undone: a stand-in a test set up (a "
        "monkeypatch, a fake) no longer covers that shutdown. Stand in for the call for the "
        "whole session (a session-scoped fixture, or a setting of the tests' environment), or "
        "give no reset (hardening_app_reset returning None, HarnessSession(reset=None)) so "
        "that each test or run shuts its own app down."
    )


def _same_function(a: Any, b: Any) -> bool:
    """Two functions of the same code, globals, defaults and closure contents (by identity):
    made by the same ``def`` from the same objects, so building the same app."""
    code = getattr(a, "__code__", None)
    if code is None or code is not getattr(b, "__code__", None):
        return False
    if getattr(a, "__globals__", None) is not getattr(b, "__globals__", None):
        return False

    def held(f: Any) -> list[Any]:
        cells = [c.cell_contents for c in getattr(f, "__closure__", None) or ()]
        return [*cells, *(getattr(f, "__defaults__", None) or ())]

    first, second = held(a), held(b)
    return len(first) == len(second) and all(x is y for x, y in zip(first, second, strict=True))


class AppReuseWarning(UserWarning):
    """A kept app's reset failed: the app is no longer reused (each test builds its own). Also
    what a kept app's shutdown at the end of a chaos run tried to reach, or raised."""


class AppPool:
    """At most ``size`` kept apps, least recently used evicted first."""

    def __init__(self, size: int = 4) -> None:
        self.size = size
        self._kept: OrderedDict[Hashable, Kept] = OrderedDict()
        self.builds = 0
        self.reuses = 0
        self._clock_cache: ClockCache | None = None
        self._getters: dict[Any, CachedGetters] = {}
        self._tls: SharedTLSContexts | None = None
        self._reset_failures: set[Hashable] = set()
        #: What kept apps' shutdowns outside any test tried (each connection refused) or
        #: raised, one report per app: the plugin fails the session's end with them.
        self.shutdown_problems: list[str] = []
        self._announced: set[int] = set()  # the kept apps newly_kept() returned (by id)
        self._told_code: set[int] = set()  # the factories' code warned of (see take)
        #: How many lifespans each app object (weakly) ran in earlier tests: an app built once
        #: at import is one object, started and stopped in every async test.
        self._lifespans: weakref.WeakKeyDictionary[Any, int] = weakref.WeakKeyDictionary()

    def lifespan_ran(self, app: Any) -> int:
        """Count one more lifespan of ``app``; how many ran before this one."""
        try:
            before = self._lifespans.get(app, 0)
            self._lifespans[app] = before + 1
        except TypeError:  # not weakly referable: not counted
            return 0
        return before

    @property
    def clock_cache(self) -> ClockCache:
        """Shared by the clocks of the tests this pool serves."""
        if self._clock_cache is None:
            from ._clock_cache import ClockCache

            self._clock_cache = ClockCache()
        return self._clock_cache

    @property
    def tls_contexts(self) -> SharedTLSContexts:
        """Shared by the default-configured httpx clients of the apps this pool serves."""
        if self._tls is None:
            from ._shared_tls import SharedTLSContexts

            self._tls = SharedTLSContexts()
        return self._tls

    def cached_getters(self, factory: Callable[[], Any]) -> CachedGetters:
        """The cached getters of ``factory``'s package, searched once for the session's builds
        (again only when modules were imported since)."""
        getters = self._getters.get(factory)
        if getters is None:
            from ._cached_getters import CachedGetters

            getters = self._getters[factory] = CachedGetters(factory)
        return getters

    def take(self, key: Hashable) -> Kept | None:
        kept = self._kept.pop(key, None)
        if kept is not None:
            self.reuses += 1
        else:
            self._made_again(key)
        return kept

    def _made_again(self, key: Hashable) -> None:
        """Warn, once per function, when an app is kept under the same env for a function that
        differs from this one only by being another object (the same code, holding the same
        objects): a fixture that returns a new closure each test (``def build(): ...`` inside
        it) never gets its app back, silently."""
        factory, *built_under = cast("tuple[Any, ...]", key)
        code = getattr(factory, "__code__", None)
        if code is None or id(code) in self._told_code:
            return
        for kept in self._kept:
            other, *other_env = cast("tuple[Any, ...]", kept)
            if other is not factory and _same_function(other, factory) and other_env == built_under:
                self._told_code.add(id(code))
                warnings.warn(
                    AppReuseWarning(
                        f"the app factory {factory.__qualname__} is a new function in each "
                        "test (made inside the hardening_app_factory fixture), so the app kept "
                        "running for the last test is not reused: another function may build "
                        "another app. Every test builds and starts its own. Define the factory "
                        "once, at module level, and return that one from the fixture "
                        "(docs/harness.md)"
                    ),
                    stacklevel=2,
                )
                return

    def give(self, key: Hashable, kept: Kept) -> bool:
        """Keep ``kept`` for the next test, unless the test changed what a reset cannot undo
        (then it is shut down and False returned)."""
        if fingerprint(kept.app) != kept.fingerprint:
            kept.close()
            return False
        self._kept[key] = kept
        self._kept.move_to_end(key)
        return True

    def reset_failed(self, key: Hashable, reset: AppReset, error: Exception) -> None:
        """Say once per app that its reset failed, so reuse is off: otherwise the only sign
        is a slower suite."""
        if key in self._reset_failures:
            return
        self._reset_failures.add(key)
        warnings.warn(
            reset_raised(
                reset,
                error,
                "when the app was handed back for reuse",
                "the app is built afresh for every test or run from now on. Fix the reset, or "
                "give none (hardening_app_reset returning None, HarnessSession(reset=None)) to "
                "build per test on purpose.",
            ),
            AppReuseWarning,
            stacklevel=2,
        )

    def discard(self, key: Hashable) -> None:
        kept = self._kept.pop(key, None)
        if kept is not None:
            kept.close()

    def newly_kept(self) -> list[Kept]:
        """The kept apps not returned by an earlier call: each is shut down by
        :meth:`shut_down` when the caller says (the plugin: before the session's fixtures
        set up since are torn down), or by :meth:`close`."""
        fresh = [kept for kept in self._kept.values() if id(kept) not in self._announced]
        self._announced.update(id(kept) for kept in fresh)
        return fresh

    def shut_down(self, kept: Kept) -> None:
        """Shut ``kept`` down now if the pool still keeps it (see :meth:`_shut_down`)."""
        for key, candidate in list(self._kept.items()):
            if candidate is kept:
                del self._kept[key]
                self._shut_down(kept)

    def stop_running(self, app: Any) -> None:
        """Shut down the kept app that is ``app`` itself, about to start again: an app built
        once at import is the same object under another environment (a database per test),
        and for an async test, and one object cannot run two lifespans at once."""
        for kept in [k for k in self._kept.values() if k.app is app]:
            kept.sentry_client = None  # the object's, made at its import: it lives on with it
            self.shut_down(kept)

    def trim(self) -> None:
        """Close the least recently used apps beyond ``size`` (call in real time, after the
        test's own guard and fakes were undone)."""
        while len(self._kept) > self.size:
            _, oldest = self._kept.popitem(last=False)
            self._shut_down(oldest)

    def close(self) -> None:
        """Shut every kept app down, each under a network guard of its own (see
        :meth:`_shut_down`); what they tried is in :attr:`shutdown_problems`."""
        while self._kept:
            _, kept = self._kept.popitem(last=False)
            self._shut_down(kept)

    def _shut_down(self, kept: Kept) -> None:
        # Outside any test: no test's network guard, fakes or monkeypatches cover this
        # shutdown any more. An app kept by a test that refused the network is refused it
        # here too; one kept by a test that allowed it (hardening_allow_network) is not.
        from ._network import NetworkGuard

        guard = NetworkGuard()
        error: Exception | None = None
        with guard if kept.guarded else contextlib.nullcontext():
            try:
                kept.close()
            except Exception as raised:  # reported below; the other apps still shut down
                error = raised
        refused = guard.refused(faults=False)  # no test's faults serve a shutdown here
        if refused or error is not None:
            self.shutdown_problems.append(_shutdown_report(kept.app, refused, error, self.size))

    def __len__(self) -> int:
        return len(self._kept)
