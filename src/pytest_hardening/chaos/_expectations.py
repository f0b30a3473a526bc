"""App-agnostic expectations: breaker states and paths, provider calls, alerts, Sentry events,
fast failure, no server errors, and probes of the scenario's own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pytest_hardening.chaos._context import ChaosContext
from pytest_hardening.chaos._steps import Send
from pytest_hardening.chaos._timeline import seconds


@dataclass(frozen=True)
class ExpectBreaker:
    """The breaker is in ``state`` now."""

    name: str
    state: str

    def run(self, ctx: ChaosContext) -> None:
        ctx.observe()
        if self.name not in ctx.breakers.names:
            ctx.fail(_no_breaker(self.name, ctx))
            return
        actual = str(ctx.breakers.state(self.name))
        if actual != self.state:
            history = [f"{a}→{b}" for a, b in ctx.breakers.transitions(self.name)][-6:]
            ctx.fail(
                f"breaker {self.name!r}: expected {self.state}, is {actual}; "
                f"transitions so far: {history or 'none'}"
            )


@dataclass(frozen=True)
class ExpectTransitions:
    """The breaker's transitions during this scenario are exactly ``path``.

    ``path`` lists states, starting with the initial one:
    ``("CLOSED", "OPEN", "HALF_OPEN", "CLOSED")``.
    """

    name: str
    path: tuple[str, ...]

    def run(self, ctx: ChaosContext) -> None:
        ctx.observe()
        if self.name not in ctx.breakers.names:
            ctx.fail(_no_breaker(self.name, ctx))
            return
        changes = ctx.timeline.transitions(self.name)
        actual = (ctx.timeline.initial.get(self.name, "CLOSED"), *(c.to_state for c in changes))
        if actual != self.path:
            lazy = (
                ""
                if "HALF_OPEN" not in self.path
                or "HALF_OPEN" in actual
                or ctx.breakers.reports_transitions(self.name)
                else " (a breaker without a listener API is observed between steps: one whose "
                "probe closes it within a request reads OPEN → CLOSED, with no HALF_OPEN; "
                "docs/chaos.md, ExpectTransitions)"
            )
            ctx.fail(
                f"breaker {self.name!r}: expected path {' → '.join(self.path)}, "
                f"got {' → '.join(actual)}{lazy}"
            )


@dataclass(frozen=True)
class ExpectProviderCalls:
    """Between ``at_least`` and ``at_most`` calls reached the provider so far in the run: the
    app's startup's (when the run started the app), the steady state's and each retry's
    included. Compare two counts in a :class:`Check` to count one phase alone."""

    provider: str
    at_least: int = 0
    at_most: int | None = None

    def run(self, ctx: ChaosContext) -> None:
        n = len(ctx.faults.calls(self.provider))
        if n < self.at_least or (self.at_most is not None and n > self.at_most):
            bound = f"{self.at_least}..{'∞' if self.at_most is None else self.at_most}"
            history = ctx.faults.history(self.provider).replace("\n", "; ").strip()
            ctx.fail(
                f"provider {self.provider!r}: expected {bound} calls to reach it since the run "
                f"began (the app's startup, steady state and retries included), saw {n}; recent: "
                f"{history}"
            )


@dataclass(frozen=True)
class Check:
    """A custom probe: ``probe(ctx)`` returns ``None`` (or ``True``) when fine, else what went
    wrong: a message, or ``False``."""

    description: str
    probe: Callable[[ChaosContext], str | bool | None]

    def run(self, ctx: ChaosContext) -> None:
        problem = self.probe(ctx)
        if problem is None or problem is True:
            return
        if problem is False:
            ctx.fail(f"{self.description}: the probe returned False")
        elif problem:
            ctx.fail(f"{self.description}: {problem}")


@dataclass(frozen=True)
class ExpectAlert:
    """APM raised an alert of ``kind`` (about ``subject`` when given)."""

    kind: str
    subject: str | None = None

    def run(self, ctx: ChaosContext) -> None:
        alerts = list(getattr(ctx.apm, "alerts", []) or [])
        hits = [
            a
            for a in alerts
            if a.kind == self.kind and (self.subject is None or self.subject in str(a.subject))
        ]
        if not hits:
            seen = [(a.kind, a.subject) for a in alerts][-6:]
            ctx.fail(f"expected an APM {self.kind} alert for {self.subject!r}; alerts: {seen}")


@dataclass(frozen=True)
class ExpectSentryEvent:
    """Sentry captured at least one event whose text contains ``contains``."""

    contains: str

    def run(self, ctx: ChaosContext) -> None:
        events = list(getattr(ctx.sentry, "events", []) or [])
        if not any(self.contains in repr(e) for e in events):
            got = f"got {len(events)}"
            if getattr(ctx.sentry, "client", None) is None:
                got = "the app never initialised Sentry (sentry_sdk.init): nothing is captured"
            ctx.fail(f"expected a Sentry event mentioning {self.contains!r}; {got}")


@dataclass(frozen=True)
class ExpectFastFail:
    """Run ``traffic`` and require that it never reached ``provider`` and took no virtual time:
    an open breaker answers at once instead of waiting for another timeout."""

    provider: str
    traffic: Send

    def run(self, ctx: ChaosContext) -> None:
        before, started = len(ctx.faults.calls(self.provider)), ctx.now()
        self.traffic.run(ctx)
        reached = len(ctx.faults.calls(self.provider)) - before
        waited = ctx.now() - started - self.traffic.every * max(0, self.traffic.count - 1)
        if reached:
            # A breaker named for the provider, or none the app shows: the app may have none
            # in front of it at all, which is the finding.
            known = self.provider in ctx.breakers.names
            ctx.fail(
                f"provider {self.provider!r} was called {reached} time(s) while its "
                "breaker should fail fast"
                + ("" if known else f" ({_no_breaker(self.provider, ctx)})")
            )
        if waited > 0:
            ctx.fail(f"fast-fail traffic took {seconds(waited)} of virtual time; expected none")


@dataclass(frozen=True)
class ExpectNoServerErrors:
    """No response so far had a status of 500 or more (except the ``allowed`` ones)."""

    allowed: frozenset[int] = frozenset()

    def run(self, ctx: ChaosContext) -> None:
        bad = [s for s in ctx.served if s.response.status_code >= 500]
        bad = [s for s in bad if s.response.status_code not in self.allowed]
        if bad:
            first = bad[0]
            ctx.fail(
                f"{len(bad)} server error(s) served, first: {first.method} {first.path} -> "
                f"{first.response.status_code} at {seconds(first.at)}: {first.response.text[:200]}"
            )


@dataclass(frozen=True)
class ExpectNoSentryErrors:
    """A handled degradation is not an error: Sentry got no error or fatal event.

    Fails too when nothing is capturing (the app did not initialise Sentry), because an
    empty capture would prove nothing.
    """

    def run(self, ctx: ChaosContext) -> None:
        if ctx.sentry is None or getattr(ctx.sentry, "client", None) is None:
            ctx.fail(
                "Sentry capture is not attached: the app never initialised Sentry "
                "(sentry_sdk.init), so no capture can show that nothing was reported; leave "
                "this step out of an app without Sentry"
            )
            return
        errors = [e for e in ctx.sentry.events if e.get("level") in ("error", "fatal")]
        if errors:
            first = errors[0]
            what = (first.get("logentry") or {}).get("message") or first.get("exception")
            ctx.fail(f"{len(errors)} error event(s) reported to Sentry, first: {what!r}")


def _no_breaker(name: str, ctx: ChaosContext) -> str:
    names = sorted(ctx.breakers.names)
    if names:
        return f"no breaker named {name!r}; the app's: {names}"
    return (
        f"no breaker named {name!r}: the app shows none. Breakers are read from "
        "app.state.breakers (a mapping name -> breaker), or from the target's "
        "HarnessSession(breakers=lambda app: {...}) (docs/chaos.md)"
    )
