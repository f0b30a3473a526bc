"""The harness's inspection of what the app built: its breakers and its APM.

A part of :class:`~._harness.Harness` (whose state it reads), apart for its size: the breakers
are reached through the app's event loop while the client serves it, and module-level ones are
closed after the test.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Awaitable, Callable, Mapping
from types import ModuleType
from typing import TYPE_CHECKING, Any

from ._wrapped import app_state

if TYPE_CHECKING:
    from ._apm import ApmView
    from ._apm_prometheus import PrometheusView
    from ._breakers import BreakerInspector
    from ._clock import Clock
    from ._faults import FaultInjector

__all__ = ["HarnessError", "HarnessInspection"]


class HarnessError(RuntimeError):
    """A part of the harness was used before it was set up, or set up twice differently."""


def _app_breakers(app: Any) -> Any:
    breakers = getattr(app_state(app), "breakers", None)
    if breakers is None:
        raise HarnessError(
            "the app has no app.state.breakers: expose the app's breakers there, or pass them "
            "to inspect_breakers() (override the `hardening_breakers` fixture in pytest)"
        )
    return breakers


def _stale_copy(breakers: Any, aside: Mapping[str, ModuleType]) -> str | None:
    """Where ``breakers`` is held by the tests' own import of a module the app was built
    from a copy of (``app_from_import`` imported it aside): the breakers of the copy, which
    the app calls, are other objects. A dotted name, else None."""
    for name, copy in aside.items():
        stale = sys.modules.get(name)
        if stale is None or stale is copy:
            continue
        for attribute, value in list(vars(stale).items()):
            held = value is breakers or (
                isinstance(value, dict) and any(v is breakers for v in list(value.values()))
            )
            if held and vars(copy).get(attribute) is not value:
                return f"{name}.{attribute}"
    return None


def _app_apm(app: Any) -> Any:
    from ._apm import app_apm

    apm = app_apm(app)
    if apm is None:
        raise HarnessError(
            "the app has no app.state.apm (nor prometheus_client metrics in the default "
            "registry): expose its APM registry there, or pass it (a CollectorRegistry of the "
            "app's own too) to watch_apm() (override the `hardening_apm` fixture in pytest)"
        )
    return apm


class HarnessInspection:
    """Breakers and APM of the harness's app (see :class:`~._harness.Harness`)."""

    _stack: contextlib.ExitStack
    _clock: Clock | None
    _serving: Any  # the client's portal, while it serves the app
    _breakers: BreakerInspector | None
    _faults: FaultInjector | None
    _apm: ApmView | PrometheusView | None
    _metrics_refused: list[str]
    _aside_modules: dict[str, ModuleType]

    @property
    def app(self) -> Any:
        raise NotImplementedError

    def inspect_breakers(self, breakers: Any = None) -> BreakerInspector:
        """State, transitions and force/reset of ``breakers`` (default: ``app.state.breakers``),
        every one reset first; transitions recorded until :meth:`close`."""
        if self._breakers is None:
            from ._breakers import BreakerInspector

            found = breakers if breakers is not None else _app_breakers(self.app)
            stale = _stale_copy(found, self._aside_modules) if breakers is not None else None
            if stale is not None:
                module, _, attribute = stale.rpartition(".")
                raise HarnessError(
                    f"the breakers given (hardening_breakers) are {stale} of the tests' own "
                    f"import of {module}, not of the copy the app was built from (imported "
                    "aside: see the StaleImportWarning), so no call of the app moves them: "
                    f"return THE_APP.module({module!r}, hardened_app).{attribute} (THE_APP "
                    "being your app_from_import(...)), or app.state.breakers"
                )
            inspector = BreakerInspector(
                found, in_app_loop=self._in_app_loop, calls=self._recent_calls, now=self._now
            ).start()
            self._stack.callback(inspector.stop)
            self._stack.callback(inspector.reset)  # first of the two: see close_breakers()
            self._breakers = inspector
            if self._clock is not None:  # breakers on a clock of their own move with it
                self._stack.callback(self._clock.on_advance(inspector.advance))
                self._stack.callback(self._clock.before_advance(inspector.look))
        return self._breakers

    def _now(self) -> float | None:
        """The clock's time, once there is a clock (when a breaker's transition is logged)."""
        return self._clock.monotonic() if self._clock is not None else None

    def _recent_calls(self) -> str:
        faults = self._faults
        return faults.recent() if faults is not None else ""

    def _in_app_loop(self, make: Callable[[], Awaitable[Any]]) -> Any:
        """``make()`` awaited in the app's event loop while the client's portal serves it (an
        async breaker's Redis or database client is bound to that loop); else NOT_RUNNING."""
        from ._breakers._at_once import NOT_RUNNING

        portal, started = self._serving, []
        if portal is None:
            return NOT_RUNNING

        async def run() -> Any:
            started.append(True)
            return await make()

        try:
            return portal.call(run)
        except RuntimeError:
            if started:
                raise
            return NOT_RUNNING  # called from the loop's own thread (an app's listener)

    def close_breakers(self, breakers: Any) -> None:
        """Close ``breakers`` when the harness closes, unless :meth:`inspect_breakers` already
        does (it resets what it inspects, first and last).

        Breakers built with the app go with it; module-level ones outlive it and would carry
        one test's outage into the next. Best effort: breakers no adapter can drive are left
        as they are (only :meth:`inspect_breakers` reports those).
        """
        if self._breakers is not None:
            return
        from ._breakers import BreakerInspector

        try:
            inspector = BreakerInspector(breakers)
        except TypeError:  # an unsupported breaker: nothing to drive
            return
        self._stack.callback(inspector.reset)

    def watch_apm(self, apm: Any = None) -> ApmView | PrometheusView:
        """A view of ``apm`` (default: ``app.state.apm``, else prometheus_client's registry),
        reset first; a prometheus registry is read as what changed since."""
        if self._apm is None:
            from ._apm import view_of

            apm = apm if apm is not None else _app_apm(self.app)
            self._apm = view_of(apm, self._metrics_refused)
        return self._apm
