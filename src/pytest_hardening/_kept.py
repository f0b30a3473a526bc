"""Kept: an app kept running between tests with its entered client, parked while idle.

An idle kept app is *parked*: its event loop is held in one blocking call until a test takes
it, so its background tasks (a re-dial worker, an upload retry) cannot act on what the running
test puts in a database they share, however far that test moves the clock. The owner's reset
runs in the app's own loop, where its database engine lives. The pool that keeps these is
:class:`~._reuse.AppPool`.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol

import sentry_sdk

from ._fault_advice import FIXTURES, Advice
from ._wrapped import innermost

if TYPE_CHECKING:
    from ._sentry import SentryCapture
    from ._sentry_guard import SentryGuard

__all__ = ["AppReset", "Kept", "Pool", "ResetFailed", "fingerprint", "reset_raised", "run_reset"]

#: How long parking waits for a kept app's event loop to take the hold.
_PARK_WAIT_SECONDS = 30.0

AppReset = Callable[[Any], "Awaitable[None] | None"]


class Pool(Protocol):
    """What a kept app hands itself back to (:class:`~._reuse.AppPool`)."""

    def give(self, key: Hashable, kept: Kept) -> bool: ...

    def discard(self, key: Hashable) -> None: ...

    def reset_failed(self, key: Hashable, reset: AppReset, error: Exception) -> None: ...


class ResetFailed(RuntimeError):
    """The owner's reset raised: the kept app was shut down."""


def reset_raised(
    reset: AppReset, error: Exception, when: str, advice: str, *, of: str = "app"
) -> str:
    """What every caller of a reset says when it raised: whose reset, what it raised, on
    which app (``when``), and what to do for that caller (``advice``)."""
    name = getattr(reset, "__qualname__", repr(reset))
    return f"the {of}'s reset {name} raised {type(error).__name__}: {error}, {when}: {advice}"


def fingerprint(app: Any) -> tuple[Any, ...]:
    """What a test could change on the app that a reset does not undo (by identity); on the
    app behind its middleware (``SentryAsgiMiddleware(app)``), where its state is."""
    app = innermost(app)
    state = getattr(getattr(app, "state", None), "_state", None)
    overrides = getattr(app, "dependency_overrides", None)
    return (
        tuple((k, id(v)) for k, v in sorted((state or {}).items())),
        tuple((id(k), id(v)) for k, v in (overrides or {}).items()),
    )


@dataclass
class Kept:
    """An app with its entered ``TestClient`` (lifespan running in the client's portal)."""

    app: Any
    client: Any
    sentry_client: Any
    fingerprint: tuple[Any, ...]
    resetter: AppReset | None = None
    #: Whether the test that kept it refused the network: its shutdown outside any test (the
    #: session's end, an eviction) is then refused it too (see :meth:`AppPool.close`).
    guarded: bool = True
    #: The modules of the copy the app was built from, when imported aside: the clock of
    #: each test that reuses it freezes them too.
    aside_modules: dict[str, ModuleType] = field(default_factory=dict, repr=False)
    _held: threading.Event | None = field(default=None, init=False, repr=False)

    def park(self, reset: AppReset | None = None) -> None:
        """Run ``reset`` in the app's event loop, then hold that loop until :meth:`unpark`.

        Both in one step of the loop: nothing of the app runs between the end of the reset and
        the hold, so a background task cannot begin a database transaction there and keep its
        lock while the app idles. Returns once the loop is held; raises what the reset raised.
        """
        if self._held is not None:
            return
        release, holding = threading.Event(), threading.Event()

        async def reset_then_hold() -> None:
            if reset is not None:
                await run_reset(reset, self.app)
            holding.set()
            release.wait()  # blocks the loop's thread, with no await since the reset ended

        future = self.client.portal.start_task_soon(reset_then_hold)
        future.add_done_callback(lambda _: holding.set())  # a failed reset wakes us too
        if not holding.wait(_PARK_WAIT_SECONDS) or future.done():
            release.set()  # never hold later, when nobody would release it
            if future.done():
                future.result()
            return
        self._held = release

    def unpark(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.set()

    def adopt(
        self,
        reset: AppReset,
        guard: SentryGuard,
        capture: SentryCapture,
        *,
        advice: Advice = FIXTURES,
    ) -> None:
        """Make this app the test's: its Sentry client global and sending to ``capture``
        (spared by ``guard``), then reset. A failing reset shuts the app down."""
        self.unpark()
        if self.sentry_client is not None:
            sentry_sdk.get_global_scope().set_client(self.sentry_client)
            guard.spare(self.sentry_client)
            capture.attach(self.sentry_client)
        self.resetter = reset
        try:
            self.reset(reset)
        except Exception as error:
            self.close()
            raise ResetFailed(
                reset_raised(
                    reset,
                    error,
                    f"on the app kept from an earlier {advice.one}",
                    f"fix the reset, or {advice.no_reset} to build per {advice.one}",
                )
            ) from error
        self.fingerprint = fingerprint(self.app)

    def hand_back(self, pool: Pool, key: Hashable, guard: SentryGuard) -> None:
        """Give the app to ``pool`` for the next test, reset already: an app kept idle holds
        nothing of this test that its background tasks could act on while other tests run
        (queued work, due retries). It keeps its Sentry client."""
        if self.sentry_client is None:
            self.sentry_client = guard.created_client()
        if self.sentry_client is not None:
            guard.spare(self.sentry_client)
        if not pool.give(key, self) or self.resetter is None:
            return
        self.client.cookies.clear()
        try:
            self.park(self.resetter)
        except Exception as error:  # the next test would fail on it: build afresh instead
            pool.discard(key)
            pool.reset_failed(key, self.resetter, error)

    def reset(self, reset: AppReset) -> None:
        """Run the owner's reset in the app's own event loop; forget the client's cookies."""
        self.client.cookies.clear()
        self.client.portal.call(run_reset, reset, self.app)

    def close(self) -> None:
        self.unpark()
        try:
            self.client.__exit__(None, None, None)  # lifespan shutdown
        finally:
            if self.sentry_client is not None:
                self.sentry_client.close(timeout=0.0)


async def run_reset(reset: AppReset, app: Any) -> None:
    """``reset(app)`` in the app's event loop, awaited when it is async."""
    outcome = reset(app)
    if inspect.isawaitable(outcome):
        await outcome
