"""Stateful model test: random call sequences against a small reference model of the
breaker's rules (``CircuitBreaker``'s docstring, docs/circuit-breakers-by-example.md).

Calls are driven through the public ``acall`` without an event loop: the protected coroutine
suspends on a ``Gate``, so many probes can be in flight at once, deterministically, and each one
is finished later with a chosen outcome (success, failure, excluded error, bad result,
cancellation). The model is deliberately naive (lists and episode ids, no epochs or sets).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from reference_app.resilience import CircuitBreaker, CircuitOpenError, ManualClock

from .conftest import PROFILE

OPEN_TIMEOUT = 10.0
PROBE_TIMEOUT = 4.0
OUTCOMES = ("ok", "fail", "excluded", "bad", "cancel")


class Boom(Exception):
    """Counts as a failure."""


class NotOurFault(Exception):
    """Listed in ``ignore``: passes through uncounted."""


class Gate:
    """An awaitable that suspends once, so a call stays in flight until we resume it.

    The outcome is chosen when the call is resumed (``gate.outcome``), not when it starts.
    """

    def __init__(self) -> None:
        self.outcome = "ok"

    def __await__(self) -> Generator[None, None, None]:
        yield


def protected_sync(hits: list[str], outcome: str) -> str:
    hits.append(outcome)
    if outcome == "fail":
        raise Boom
    if outcome == "excluded":
        raise NotOurFault
    return outcome


async def protected(gate: Gate | None, outcome: str, hits: list[str] | None = None) -> str:
    if hits is not None:
        hits.append(outcome)
    if gate is not None:
        await gate
        outcome = gate.outcome
    if outcome == "fail":
        raise Boom
    if outcome == "excluded":
        raise NotOurFault
    return outcome  # "bad" is a failure by result predicate


@dataclass
class Model:
    failure_threshold: int
    success_threshold: int
    max_probes: int
    state: str = "CLOSED"
    episode: int = 0  # bumps on every transition
    consecutive: int = 0
    open_until: float = 0.0
    probes: list[tuple[int, float]] = field(default_factory=list)  # (probe id, deadline)
    probe_successes: int = 0
    next_probe_id: int = 0
    admitted: int = 0
    log: list[tuple[str, str, str]] = field(default_factory=list)
    counts: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("successes", "failures", "rejections", "ignored"), 0)
    )

    def move(self, to: str, reason: str, now: float) -> None:
        self.log.append((self.state, to, reason))
        self.state, self.episode = to, self.episode + 1
        self.probes, self.probe_successes = [], 0
        if to == "CLOSED":
            self.consecutive = 0
        if to == "OPEN":
            self.open_until = now + OPEN_TIMEOUT

    def observe(self, now: float) -> str:
        if self.state == "OPEN" and now >= self.open_until:
            self.move("HALF_OPEN", "open timeout elapsed", now)
        return self.state

    def admit(self, now: float) -> tuple[str, int] | None:
        state = self.observe(now)
        if state == "CLOSED":
            self.admitted += 1
            return ("closed", self.episode)
        if state == "HALF_OPEN":
            if len(self.probes) >= self.max_probes:
                self.probes = [p for p in self.probes if p[1] > now]
            if len(self.probes) < self.max_probes:
                self.next_probe_id += 1
                self.probes.append((self.next_probe_id, now + PROBE_TIMEOUT))
                self.admitted += 1
                return ("probe", self.next_probe_id)
        self.counts["rejections"] += 1
        return None

    def finish(self, ticket: tuple[str, int], outcome: str, now: float) -> None:
        kind, ident = ticket
        if outcome in ("excluded", "cancel"):
            self.counts["ignored"] += 1
            self.probes = [p for p in self.probes if p[0] != ident or kind != "probe"]
            return
        failed = outcome in ("fail", "bad")
        self.counts["failures" if failed else "successes"] += 1
        if kind == "closed":
            if self.state != "CLOSED" or ident != self.episode:
                return  # stale: admitted before a transition
            if not failed:
                self.consecutive = 0
                return
            self.consecutive += 1
            if self.consecutive >= self.failure_threshold:
                self.move("OPEN", f"{self.consecutive} consecutive failures", now)
            return
        if all(p[0] != ident for p in self.probes):
            return  # expired or from an earlier half-open episode
        self.probes = [p for p in self.probes if p[0] != ident]
        if failed:
            self.move("OPEN", "probe failed", now)
            return
        self.probe_successes += 1
        if self.probe_successes >= self.success_threshold:
            n = self.probe_successes
            self.move("CLOSED", f"{n} probe success{'es' if n > 1 else ''}", now)

    def force_open(self, now: float) -> None:
        if self.state == "OPEN":
            self.open_until = now + OPEN_TIMEOUT
        else:
            self.move("OPEN", "forced", now)

    def reset(self, now: float) -> None:
        if self.state != "CLOSED":
            self.move("CLOSED", "reset", now)
        self.consecutive = 0
        self.counts = dict.fromkeys(self.counts, 0)


@dataclass
class InFlight:
    coro: Coroutine[Any, Any, str]
    gate: Gate
    ticket: tuple[str, int]


def drive(coro: Coroutine[Any, Any, str], throw: BaseException | None = None) -> object:
    """Run ``coro`` one step; return what it finished with (value or exception), or ``None``."""
    try:
        if throw is not None:
            coro.throw(throw)
        else:
            coro.send(None)
    except StopIteration as done:
        return done.value
    except BaseException as exc:
        return exc
    return None  # suspended


class BreakerMachine(RuleBasedStateMachine):
    inflight = Bundle("inflight")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock()
        self.hits: list[str] = []  # every call that reached the protected function
        self.open_calls: list[InFlight] = []

    @initialize(
        failure_threshold=st.integers(1, 4),
        success_threshold=st.integers(1, 3),
        max_probes=st.integers(1, 3),
        result_predicate=st.booleans(),
    )
    def setup(
        self,
        failure_threshold: int,
        success_threshold: int,
        max_probes: int,
        result_predicate: bool,
    ) -> None:
        # Without a result predicate the breaker takes its lock-free fast path; test both.
        self.predicate = result_predicate
        self.breaker = CircuitBreaker(
            "model",
            failure_threshold=failure_threshold,
            success_threshold=success_threshold,
            open_timeout=OPEN_TIMEOUT,
            half_open_max_calls=max_probes,
            probe_timeout=PROBE_TIMEOUT,
            ignore=(NotOurFault,),
            is_failure_result=(lambda r: r == "bad") if result_predicate else None,
            clock=self.clock,
            history=1000,
        )
        self.model = Model(failure_threshold, success_threshold, max_probes)

    def _outcome(self, outcome: str) -> str:
        # Without a predicate a "bad" result is an ordinary success, for both sides.
        return "ok" if outcome == "bad" and not self.predicate else outcome

    @rule(outcome=st.sampled_from(OUTCOMES[:4]))
    def call_now(self, outcome: str) -> None:
        outcome = self._outcome(outcome)
        coro = self.breaker.acall(protected, None, outcome, self.hits)
        ticket = self.model.admit(self.clock())
        result = drive(coro)
        if ticket is None:
            assert isinstance(result, CircuitOpenError), f"model rejects, breaker gave {result!r}"
            return
        assert not isinstance(result, CircuitOpenError), "breaker rejected a call the model admits"
        assert result is not None, "an ungated call suspended"
        self.model.finish(ticket, outcome, self.clock())

    @rule(outcome=st.sampled_from(OUTCOMES[:4]))
    def call_sync(self, outcome: str) -> None:
        outcome = self._outcome(outcome)
        ticket = self.model.admit(self.clock())
        try:
            result: object = self.breaker.call(protected_sync, self.hits, outcome)
        except (CircuitOpenError, Boom, NotOurFault) as exc:
            result = exc
        if ticket is None:
            assert isinstance(result, CircuitOpenError), f"model rejects, breaker gave {result!r}"
            return
        assert not isinstance(result, CircuitOpenError), "breaker rejected a call the model admits"
        self.model.finish(ticket, outcome, self.clock())

    @rule(target=inflight)
    def start_call(self) -> Any:
        gate = Gate()
        coro = self.breaker.acall(protected, gate, "gated", self.hits)
        ticket = self.model.admit(self.clock())
        result = drive(coro)
        if ticket is None:
            assert isinstance(result, CircuitOpenError), f"model rejects, breaker gave {result!r}"
            return multiple()
        assert result is None, f"breaker did not admit a call the model admits: {result!r}"
        call = InFlight(coro, gate, ticket)
        self.open_calls.append(call)
        return call

    @rule(call=consumes(inflight), outcome=st.sampled_from(OUTCOMES))
    def finish_call(self, call: InFlight, outcome: str) -> None:
        outcome = self._outcome(outcome)
        self.open_calls.remove(call)
        call.gate.outcome = outcome
        throw = asyncio.CancelledError() if outcome == "cancel" else None
        result = drive(call.coro, throw)
        expected: object = {
            "ok": "ok",
            "bad": "bad",
            "fail": Boom,
            "excluded": NotOurFault,
            "cancel": asyncio.CancelledError,
        }[outcome]
        if isinstance(expected, str):
            assert result == expected
        else:
            assert isinstance(result, expected)  # type: ignore[arg-type]
        self.model.finish(call.ticket, outcome, self.clock())

    @rule(seconds=st.sampled_from([0.5, 1.0, PROBE_TIMEOUT, OPEN_TIMEOUT - 0.5, OPEN_TIMEOUT]))
    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def force_open(self) -> None:
        self.breaker.force_open()
        self.model.force_open(self.clock())

    @rule()
    def reset(self) -> None:
        self.breaker.reset()
        self.model.reset(self.clock())

    @invariant()
    def agrees_with_model(self) -> None:
        if not hasattr(self, "breaker"):
            return
        now = self.clock()
        expected_state = self.model.observe(now)
        metrics = self.breaker.metrics()
        history = [(t.from_state.value, t.to_state.value, t.reason) for t in metrics.transitions]
        assert history == self.model.log
        assert metrics.state.value == expected_state
        assert metrics.consecutive_failures == self.model.consecutive
        actual = {k: getattr(metrics, k) for k in self.model.counts}
        assert actual == self.model.counts
        assert metrics.probes_in_flight == len(self.model.probes)
        assert len(self.hits) == self.model.admitted, "calls reaching the function"

    def teardown(self) -> None:
        for call in self.open_calls:
            call.coro.close()  # GeneratorExit: a neutral outcome, nothing left suspended


BreakerMachine.TestCase.settings = settings.get_profile(PROFILE)
test_breaker_matches_model = BreakerMachine.TestCase
test_breaker_matches_model.pytestmark = [pytest.mark.slow(seconds=6)]


def test_gate_really_holds_a_call_in_flight() -> None:
    """Guard for the harness itself: a gated call stays in flight until resumed."""
    breaker = CircuitBreaker("gate", half_open_max_calls=1, clock=ManualClock())
    gate = Gate()
    coro = breaker.acall(protected, gate, "gated")
    assert drive(coro) is None  # suspended
    gate.outcome = "fail"
    assert isinstance(drive(coro), Boom)
    assert breaker.metrics().failures == 1
