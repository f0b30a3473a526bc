"""Circuit breakers by example: one breaker's whole life cycle as a timeline.

A provider fails five times, the breaker opens and rejects the sixth call without trying the
provider, the 60 s open timeout passes on a ``ManualClock`` (no sleeping), the provider is
healthy again and two probes close the breaker. Each line is what a listener and the caller saw.
"""

from __future__ import annotations

from collections.abc import Callable

from reference_app.resilience import CircuitBreaker, CircuitOpenError, ManualClock, Transition


class ProviderDown(ConnectionError):
    """The injected fault."""


def timeline() -> list[str]:
    """Drive a breaker CLOSED → OPEN → HALF_OPEN → CLOSED on a fake clock; return the lines."""
    clock = ManualClock()
    breaker = CircuitBreaker("exotel", failure_threshold=5, success_threshold=2, clock=clock)
    lines: list[str] = []

    def on_transition(t: Transition) -> None:
        lines.append(f"t=+{t.at:.1f}s {t.from_state} → {t.to_state} ({t.reason})")

    breaker.add_listener(on_transition)
    healthy = False

    def place_call() -> str:
        if not healthy:
            raise ProviderDown("connection refused")
        return "call placed"

    def attempt(label: str, fn: Callable[[], str]) -> None:
        try:
            outcome = breaker.call(fn)
        except CircuitOpenError as exc:
            outcome = f"rejected, retry in {exc.retry_after:.0f}s"
        except ProviderDown as exc:
            outcome = f"failed: {exc}"
        lines.append(f"t=+{clock():.1f}s   {label}: {outcome}")

    for i in range(5):
        attempt(f"call {i + 1}", place_call)
        clock.advance(1.0)
    attempt("call 6", place_call)  # fast-fail, the provider is not even tried
    clock.advance(59.0)  # opened at t=4 s; the 60 s open timeout elapses at t=64 s
    healthy = True
    attempt("probe 1", place_call)
    clock.advance(1.0)
    attempt("probe 2", place_call)
    lines.append(f"final state: {breaker.state}")
    return lines


def test_the_timeline_goes_through_the_whole_cycle() -> None:
    assert timeline() == [
        "t=+0.0s   call 1: failed: connection refused",
        "t=+1.0s   call 2: failed: connection refused",
        "t=+2.0s   call 3: failed: connection refused",
        "t=+3.0s   call 4: failed: connection refused",
        "t=+4.0s CLOSED → OPEN (5 consecutive failures)",
        "t=+4.0s   call 5: failed: connection refused",
        "t=+5.0s   call 6: rejected, retry in 59s",
        "t=+64.0s OPEN → HALF_OPEN (open timeout elapsed)",
        "t=+64.0s   probe 1: call placed",
        "t=+65.0s HALF_OPEN → CLOSED (2 probe successes)",
        "t=+65.0s   probe 2: call placed",
        "final state: CLOSED",
    ]
