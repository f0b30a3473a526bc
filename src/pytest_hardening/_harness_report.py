"""What must fail a hardened test although nothing raised, and what explains it.

The injector and the network guard know what they refused or never used; this adds what only
the harness saw: the test's last requests to the app and their answers (a 429 from a rate
limiter, a 401, tell why no call reached the provider), and the breakers that opened (an open
breaker answers from its fallback without calling the provider).
"""

from __future__ import annotations

import collections
import contextlib
import sys
import threading
import traceback
import warnings
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TextIO

import freezegun.api

if TYPE_CHECKING:
    import httpx

    from ._breakers import BreakerInspector
    from ._faults import FaultInjector
    from ._network import NetworkGuard

__all__ = [
    "SLOW_SHUTDOWN_SECONDS",
    "STARTUP_WATCH_SECONDS",
    "HarnessReport",
    "startup_watch",
    "timed_shutdown",
]

#: A lifespan shutdown longer than this waited in real time for something (tasks the app
#: started and never stopped): every test that builds the app pays it.
SLOW_SHUTDOWN_SECONDS = 1.0
#: Real seconds of lifespan startup after which :func:`startup_watch` says where it waits.
STARTUP_WATCH_SECONDS = 30.0


class HarnessReport:
    """Records the app's answers (as an httpx response hook) and composes the problems."""

    def __init__(self, keep: int = 8) -> None:
        self.answers: collections.deque[str] = collections.deque(maxlen=keep)
        #: The app object's lifespans in earlier tests (no reset kept it running), its type's
        #: name, and whether it starts in the test's own loop (hardened_async_client).
        self.restarted: tuple[int, str, bool] | None = None

    def started_again(self, app: Any, before: int, *, in_test_loop: bool = False) -> None:
        """The app object ran its lifespan ``before`` times in earlier tests, and again now."""
        self.restarted = (before, type(app).__name__, in_test_loop) if before else None

    def answered(self, response: httpx.Response) -> None:
        """An httpx ``response`` event hook: the path only (queries carry tokens)."""
        request = response.request
        self.answers.append(f"{request.method} {request.url.path} -> {response.status_code}")

    async def answered_async(self, response: httpx.Response) -> None:
        self.answered(response)

    def problems(
        self,
        faults: FaultInjector | None,
        network: NetworkGuard | None,
        breakers: BreakerInspector | None,
    ) -> str:
        """Unregistered hosts, refused connections, faults never triggered ...; empty when
        all is well."""
        if faults is None:
            refused = network.report(None, faults=False) if network is not None else None
            if not refused:
                return ""
            return refused + (
                "\nno provider answers in this test: hardening_providers answer only in tests "
                "that use `faults` (or hardened_app and its clients, which use it); this one "
                "uses none, so a provider's host is refused like any other: add `faults` to "
                "the test's arguments"
            )
        report = faults.problems_report() or ""  # the network guard's report included
        if faults.unused_report() is not None:
            report += self._requests_sent()
            if breakers is not None:
                report += _opened(breakers)
            # Not when another client explains every fault no call met: the restart of the
            # app's lifespan then says nothing of why.
            if self.restarted is not None and not faults._unused_through_other_clients():
                report += _restarted(*self.restarted, faults)
        return report

    def _requests_sent(self) -> str:
        if not self.answers:
            return "\nthe test sent the app no request through the hardened clients"
        return f"\nthe test's last requests to the app: {', '.join(self.answers)}"


def _restarted(before: int, name: str, in_test_loop: bool, faults: FaultInjector) -> str:
    """Why no call may have reached a provider: the same app object, stopped at the end of an
    earlier test and started again, without what that shutdown closed."""
    one = faults.advice.one
    closed = (
        "as the httpx client above was"
        if faults._closed_sends
        else "such as an httpx client made at module level, which then refuses every request "
        "('Cannot send a request, as the client has been closed'; the app may answer it with "
        "a 500), so no call reaches the provider"
    )
    cure = (
        "hardened_async_client starts the app in each test's own event loop, and no "
        "hardening_app_reset keeps it between async tests: make such a client in the startup "
        "(app.state), or test through hardened_client with a hardening_app_reset, which keeps "
        "one app running (docs/getting-started.md, 'Async tests')"
        if in_test_loop
        else f"To cure it, {faults.advice.keep}; or make the startup open what the shutdown closes"
    )
    return (
        f"\nthis app object ({name}) ran its lifespan {before} time(s) in earlier {one}s of "
        f"this process and was started again for this one, where production starts it once "
        f"(app_from_import hands every {one} the one object its import built): what an "
        f"earlier {one}'s lifespan shutdown closed of what the app made at import stays "
        f"closed, {closed}. {cure}."
    )


def _opened(breakers: BreakerInspector) -> str:
    opened = sorted(
        name
        for name, log in breakers.all_transitions().items()
        if any(to == "OPEN" for _, to in log)
    )
    if not opened:
        return ""
    return (
        f"\nbreakers opened during the test: {', '.join(opened)}. An open breaker answers "
        "from its fallback without calling the provider: were the faults armed while it was "
        "open?"
    )


@contextlib.contextmanager
def timed_shutdown(app: Any) -> Iterator[None]:
    """Warn when the block (an app's lifespan shutdown) takes :data:`SLOW_SHUTDOWN_SECONDS`
    of real time or more: a framework waiting for the app's background tasks (Quart's
    ``BACKGROUND_TASK_SHUTDOWN_TIMEOUT``, 5 s) costs every test that much, unseen."""
    real = freezegun.api.real_perf_counter  # the clock may be frozen meanwhile
    started = real()
    try:
        yield
    finally:
        took = real() - started
        if took >= SLOW_SHUTDOWN_SECONDS:
            from ._faults import RealSleepWarning

            warnings.warn(
                RealSleepWarning(
                    f"the {type(app).__name__} app's lifespan shutdown took {took:.2f} s of "
                    "real time after the test: it waited for something still running, such "
                    "as a background task it started and never stopped (Quart waits up to "
                    "BACKGROUND_TASK_SHUTDOWN_TIMEOUT for them), or slept a grace period of "
                    "its own. Every test that builds the app pays it: stop those tasks at "
                    "shutdown, make that wait a setting the test environment shortens, or keep "
                    "one app running between hardened_client tests (hardening_app_reset; "
                    "hardened_async_client builds the app for each test)"
                ),
                stacklevel=4,
            )


@contextlib.contextmanager
def startup_watch(
    app: Any, *, seconds: float = STARTUP_WATCH_SECONDS, out: TextIO | None = None
) -> Iterator[None]:
    """Say once, after ``seconds`` of real time inside the block (an app's lifespan startup),
    that the startup has not finished and where every thread is: a startup that waits for
    something that never comes (a connection the network guard refused and the app retries
    for ever, a task it awaits) otherwise hangs the test or ``hardening chaos`` in silence.
    ``out`` defaults to the process's own stderr (pytest's capture aside)."""

    def say() -> None:
        stream = out if out is not None else sys.__stderr__
        if stream is None:
            return
        frames = sys._current_frames()
        stacks = "".join(
            f"\n  thread {thread.name}:\n"
            + "".join(traceback.format_stack(frames[thread.ident], limit=6)).rstrip()
            for thread in threading.enumerate()
            if thread.ident in frames and thread is not threading.current_thread()
        )
        stream.write(
            f"pytest-hardening: the {type(app).__name__} app's lifespan startup has not "
            f"finished after {seconds:g} s of real time: it waits for something that does not "
            "come (a connection refused by the network guard that it retries, a task it "
            f"awaits). Where each thread is now:{stacks}\n"
        )
        stream.flush()

    timer = threading.Timer(seconds, say)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
