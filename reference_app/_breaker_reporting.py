"""Breaker transitions reported to logs and Sentry: an opened circuit is an incident."""

from __future__ import annotations

import logging

from reference_app.observability import add_breadcrumb, capture_message
from reference_app.resilience import State, Transition

__all__ = ["report_transition"]

logger = logging.getLogger("reference_app.breakers")


def report_transition(transition: Transition) -> None:
    """Log every transition, leave a Sentry breadcrumb, and send a warning event on opening."""
    name = transition.breaker
    source, target = transition.from_state.value, transition.to_state.value
    opened = transition.to_state is State.OPEN
    logger.log(
        logging.WARNING if opened else logging.INFO,
        "circuit breaker %s: %s -> %s (%s)",
        name,
        source,
        target,
        transition.reason,
    )
    add_breadcrumb(
        f"circuit breaker {name}: {source} -> {target}",
        category="circuit_breaker",
        level="warning" if opened else "info",
        data={"reason": transition.reason},
    )
    if opened:
        capture_message(
            f"circuit breaker {name} opened",
            "warning",
            tags={"breaker": name},
            reason=transition.reason,
        )
