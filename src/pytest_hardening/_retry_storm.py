"""RetryStormError: a retry loop that never gives up, ended instead of spun for ever.

In production a retry loop without a stop (tenacity without ``stop=``, ``while True`` around a
call and a sleep) waits out its back-off between attempts: a provider outage makes it slow.
Under the clock that back-off moves virtual time instead, so the same loop spins at full speed:
the test hangs at 100 % CPU, its call log growing, and never reaches the teardown that would
say why. The back-off sleeps of one test are counted: from :data:`RETRY_STORM` on, each one
raises :class:`RetryStormError` out of the sleep, which no retry predicate sees (the sleep runs
between attempts), and the test's teardown says where the loop is.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["RETRY_STORM", "RetryStormError", "noted", "storm_report"]

#: Back-off sleeps one test may take in virtual time before its retrying is taken for a loop
#: that never stops (a bounded retry takes a handful; an outage test, a few hundred at most).
RETRY_STORM = 10_000

#: Modules between a back-off sleep and the code that retries: the libraries' and ours.
_LIBRARIES = (
    "pytest_hardening",
    "tenacity",
    "stamina",
    "backoff",
    "retrying",
    "httpx_retries",
    "google.api_core",
    "redis",
    "anyio",
    "asyncio",
    "concurrent",
    "threading",
    "contextlib",
    "functools",
)


class RetryStormError(RuntimeError):
    """A test's retrying backed off :data:`RETRY_STORM` times in virtual time: a loop without
    a stop, raised out of its sleep to end it."""


def noted(sleeps: list[float], seconds: float) -> None:
    """Append a back-off delay made virtual to ``sleeps`` (the test's); the
    :data:`RETRY_STORM`-th and every later one raises :class:`RetryStormError` instead of
    returning."""
    sleeps.append(seconds)
    if len(sleeps) >= RETRY_STORM:
        raise RetryStormError(
            f"pytest-hardening ended the retrying of {_retrier()} after {len(sleeps)} back-off "
            f"sleeps in one test ({sum(sleeps):.0f} s of virtual time): a loop that never "
            "gives up, or more retrying calls than one test should make"
        )


def storm_report(sleeps: list[float]) -> str | None:
    """The teardown's word on a retry storm in ``sleeps``, or None."""
    if len(sleeps) < RETRY_STORM:
        return None
    return (
        f"the test's retrying backed off {len(sleeps)} times ({sum(sleeps):.0f} s of virtual "
        "time): under the clock back-off takes no time, so a retry loop that never gives up "
        "spins until the plugin raises RetryStormError out of its sleep, as it did here. If "
        "one loop has no stop, in production it retries for ever while the provider is down: "
        "give it one (tenacity's stop_after_attempt or stop_after_delay, backoff's max_tries "
        "or max_time, a deadline in your own loop). If every call stops, the test made "
        f"thousands of retrying calls (the limit is {RETRY_STORM} back-off sleeps a test): "
        "make fewer calls in one test"
    )


def _retrier() -> str:
    """``module.function`` of the code that retries: the function a retry library's loop
    retries (tenacity's ``retry_state.fn``, backoff's ``target``), else the first frame outside
    the retry libraries, the AI SDKs' base clients and the plugin (a loop of the app's own)."""
    frame: Any = sys._getframe(2)
    while frame is not None:
        name = str(frame.f_globals.get("__name__", ""))
        if name.startswith(("tenacity", "backoff", "stamina", "retrying")):
            local = frame.f_locals  # only now, once a storm is found: never on the hot path
            target = getattr(local.get("retry_state"), "fn", None) or local.get("target")
            if callable(target):
                return f"{getattr(target, '__module__', '?')}.{target.__qualname__}"
        library = name.startswith(_LIBRARIES) or name.endswith("._base_client")
        if not library and name.partition(".")[0] not in ("openai", "anthropic"):
            return f"{name}.{frame.f_code.co_name}"
        frame = frame.f_back
    return "unknown code"
