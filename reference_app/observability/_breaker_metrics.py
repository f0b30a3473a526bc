"""BreakerCollector: an app's circuit breakers in its Prometheus exposition.

Series (bounded: six breakers, three states, six possible transitions):

- ``circuit_breaker_state{breaker, state}``: 1 for the breaker's current state, 0 for the other
  two (one series per state, so a dashboard can graph or alert on ``state="OPEN"`` directly);
- ``circuit_breaker_failure_rate{breaker}``: failures / (successes + failures), 0..1;
- ``circuit_breaker_transitions_total{breaker, from_state, to_state}``: transitions counted by a
  listener since the app started (or the metrics were reset): the breaker's own history is
  bounded, this count is not.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from reference_app.resilience import Transition

__all__ = ["BREAKER_STATES", "BreakerCollector"]

#: Every state a breaker can be in (the values of ``reference_app.resilience.State``).
BREAKER_STATES = ("CLOSED", "OPEN", "HALF_OPEN")


class BreakerCollector(Collector):
    """Reads ``breakers`` (name → breaker with ``state`` and ``metrics()``) at scrape time and
    counts the transitions it is told of (:meth:`record`, a breaker listener)."""

    def __init__(self, breakers: Mapping[str, Any]) -> None:
        self._breakers = breakers
        self._lock = threading.Lock()
        self._transitions: Counter[tuple[str, str, str]] = Counter()

    def record(self, transition: Transition) -> None:
        key = (transition.breaker, transition.from_state.value, transition.to_state.value)
        with self._lock:
            self._transitions[key] += 1

    def reset(self) -> None:
        with self._lock:
            self._transitions.clear()

    def collect(self) -> Iterator[Metric]:
        state = GaugeMetricFamily(
            "circuit_breaker_state",
            "1 for the breaker's current state, 0 for the others.",
            labels=("breaker", "state"),
        )
        rate = GaugeMetricFamily(
            "circuit_breaker_failure_rate",
            "Failed calls / completed calls through the breaker (0..1).",
            labels=("breaker",),
        )
        for name, breaker in self._breakers.items():
            metrics = breaker.metrics()
            for value in BREAKER_STATES:
                state.add_metric((name, value), 1.0 if metrics.state.value == value else 0.0)
            rate.add_metric((name,), float(metrics.failure_rate))
        transitions = CounterMetricFamily(
            "circuit_breaker_transitions",
            "Breaker state transitions, by breaker and from/to state.",
            labels=("breaker", "from_state", "to_state"),
        )
        with self._lock:
            counts = sorted(self._transitions.items())
        for labels, count in counts:
            transitions.add_metric(labels, float(count))
        yield state
        yield rate
        yield transitions
