"""How to build a breaker (:class:`BreakerConfig`), and the registry that owns a set of them.

There is no module-level registry and no built-in table of breakers: whoever builds a registry
owns it, from a table of its own (the reference app's is ``reference_app.config.SERVICE_BREAKERS``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ._breaker import CircuitBreaker
from ._http import http_failure
from ._state import Transition

__all__ = ["BreakerConfig", "BreakerRegistry", "build_service_breakers"]


@dataclass(frozen=True, slots=True)
class BreakerConfig:
    """How to build one breaker.

    ``http=True`` classifies results and exceptions with :func:`http_failure`, for calls that
    return the ``httpx.Response`` or raise ``raise_for_status()``'s error. A call that already
    raises for exactly its failures (the reference app's provider clients) does not need it:
    a result check also takes the breaker off its fast path.
    """

    failure_threshold: int = 5
    success_threshold: int = 2
    open_timeout: float = 60.0
    half_open_max_calls: int = 1
    probe_timeout: float | None = None
    http: bool = False

    def build(self, name: str, *, clock: Callable[[], float] | None = None) -> CircuitBreaker:
        predicate = http_failure if self.http else None
        return CircuitBreaker(
            name,
            failure_threshold=self.failure_threshold,
            success_threshold=self.success_threshold,
            open_timeout=self.open_timeout,
            half_open_max_calls=self.half_open_max_calls,
            probe_timeout=self.probe_timeout,
            is_failure_result=predicate,
            is_failure_exception=predicate,
            clock=clock,
        )


_FIELDS = tuple(f.name for f in dataclasses.fields(BreakerConfig))


class BreakerRegistry(Mapping[str, CircuitBreaker]):
    """An immutable name → :class:`CircuitBreaker` mapping with fleet-wide operations."""

    __slots__ = ("_breakers",)

    def __init__(self, breakers: Iterable[CircuitBreaker]) -> None:
        table: dict[str, CircuitBreaker] = {}
        for breaker in breakers:
            if breaker.name in table:
                raise ValueError(f"duplicate circuit breaker name {breaker.name!r}")
            table[breaker.name] = breaker
        self._breakers = table

    def __getitem__(self, name: str) -> CircuitBreaker:
        try:
            return self._breakers[name]
        except KeyError:
            known = ", ".join(sorted(self._breakers)) or "none"
            raise KeyError(f"no circuit breaker named {name!r} (known: {known})") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._breakers)

    def __len__(self) -> int:
        return len(self._breakers)

    def __repr__(self) -> str:
        states = ", ".join(f"{n}={b.state.value}" for n, b in self._breakers.items())
        return f"BreakerRegistry({states})"

    def reset_all(self, *, clear_history: bool = False) -> None:
        """Reset every breaker (see :meth:`CircuitBreaker.reset`)."""
        for breaker in self._breakers.values():
            breaker.reset(clear_history=clear_history)

    def snapshot(self) -> dict[str, dict[str, Any]]:
        """JSON-able metrics of every breaker, for monitoring routes."""
        return {name: b.metrics().as_dict() for name, b in self._breakers.items()}

    def add_listener(self, listener: Callable[[Transition], None]) -> Callable[[], None]:
        """Subscribe to every breaker's transitions; returns one unsubscribe callable."""
        unsubscribers = [b.add_listener(listener) for b in self._breakers.values()]

        def unsubscribe() -> None:
            for undo in unsubscribers:
                undo()

        return unsubscribe


def build_service_breakers(
    overrides: Mapping[str, BreakerConfig | Mapping[str, Any]] | None = None,
    *,
    services: Mapping[str, BreakerConfig],
    clock: Callable[[], float] | None = None,
) -> BreakerRegistry:
    """Build one breaker per entry of ``services`` (name → :class:`BreakerConfig`).

    ``overrides`` maps a breaker name to a whole :class:`BreakerConfig` or to a mapping of
    field overrides, e.g. ``{"exotel": {"open_timeout": 2.0}}``. Unknown breaker names or
    fields raise ``ValueError`` naming them. ``clock`` is shared by all the breakers.
    """
    configs = dict(services)
    for name, config in configs.items():
        if not isinstance(config, BreakerConfig):
            raise TypeError(
                f"services must map names to BreakerConfig; {name!r} maps to "
                f"{type(config).__name__}"
            )
    for name, override in (overrides or {}).items():
        if name not in configs:
            raise ValueError(
                f"unknown circuit breaker {name!r} in overrides; "
                f"known: {', '.join(sorted(configs))}"
            )
        if isinstance(override, BreakerConfig):
            configs[name] = override
            continue
        if not isinstance(override, Mapping):
            raise ValueError(
                f"overrides for breaker {name!r} must be a BreakerConfig or a mapping of "
                f"fields, got {type(override).__name__}"
            )
        unknown = sorted(set(override) - set(_FIELDS))
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(unknown)} in overrides for breaker {name!r}; "
                f"valid fields: {', '.join(_FIELDS)}"
            )
        configs[name] = dataclasses.replace(configs[name], **override)
    return BreakerRegistry(config.build(name, clock=clock) for name, config in configs.items())
