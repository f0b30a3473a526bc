"""LeftThreads: the threads of the app's own code still running after its shutdown.

An app that starts a thread in its startup (a sync job that retries a provider) and never
stops it leaves it running after the test: its next call lands in a later test, whose faults
answer it and whose call log counts it (a trial's test passed on the previous test's retry).
A harness that built its own app (not one kept for later tests) notes the threads alive when
the app was built; after the app's shutdown, those started since whose code is the app's own
(neither the standard library, an installed library, the plugin nor the tests) and still
running after a short grace are named in a :class:`LeftRunningWarning`.
"""

from __future__ import annotations

import sys
import threading
from typing import Any

from ._code_files import own_file
from ._sleep_watch import not_the_apps

__all__ = ["LeftRunningWarning", "LeftThreads"]

#: Real seconds, all threads together, for a thread told to stop at shutdown to finish.
GRACE = 0.1


class LeftRunningWarning(UserWarning):
    """A thread the app started is still running after the app shut down: what it calls
    from then on happens in later tests."""


class LeftThreads:
    """The threads alive now; :meth:`left`, the app's own started since, still running."""

    def __init__(self) -> None:
        # The thread objects, not their idents: an ident is reused by a thread started after
        # one of these ended.
        self._before = set(threading.enumerate())

    def left(self) -> list[str]:
        """``name (module.function)`` of each thread of the app's own code started since this
        was made and still alive after :data:`GRACE` seconds."""
        started = [
            (thread, where)
            for thread in threading.enumerate()
            if thread not in self._before and (where := _apps_code(thread)) is not None
        ]
        for thread, _ in started:
            thread.join(GRACE / len(started))
        return [f"{thread.name} ({where})" for thread, where in started if thread.is_alive()]

    def warning(self) -> LeftRunningWarning | None:
        left = self.left()
        if not left:
            return None
        return LeftRunningWarning(
            f"thread(s) the app started are still running after its shutdown: "
            f"{', '.join(left)}. What they call from now on (a provider, the database) happens "
            "in later tests: their faults answer it and their call logs count it. Stop them "
            "in the app's shutdown (the end of its lifespan: set an event the thread's loop "
            "checks, then join it); or, when one app should serve every test, keep it running "
            "with hardening_app_reset (docs/harness.md)"
        )


def _apps_code(thread: threading.Thread) -> str | None:
    """``module.function`` a thread runs when that is the app's own code, else None."""
    function: Any = getattr(thread, "_target", None)
    if function is None and type(thread).run is not threading.Thread.run:
        function = type(thread).run  # a Thread subclass of the app's
    module = str(getattr(function, "__module__", "") or "")
    path = str(getattr(sys.modules.get(module), "__file__", "") or "")
    if not own_file(path) or not_the_apps(module):  # installed; the plugin's, the tests'
        return None
    return f"{module}.{getattr(function, '__qualname__', '?')}"
