"""A short, deterministic demonstration of one breaker's life cycle (no sleeping)."""

from __future__ import annotations

from collections.abc import Callable

from ._breaker import CircuitBreaker
from ._clock import ManualClock
from ._errors import CircuitOpenError
from ._state import Transition

__all__ = ["demo_timeline", "main"]


class _ProviderDown(ConnectionError):
    """The injected fault."""


def demo_timeline() -> list[str]:
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
            raise _ProviderDown("connection refused")
        return "call placed"

    def attempt(label: str, fn: Callable[[], str]) -> None:
        try:
            outcome = breaker.call(fn)
        except CircuitOpenError as exc:
            outcome = f"rejected, retry in {exc.retry_after:.0f}s"
        except _ProviderDown as exc:
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


def main(write: Callable[[str], object] = print) -> int:
    for line in demo_timeline():
        write(line)
    return 0
