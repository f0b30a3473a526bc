"""Breaker states and the record of one state change."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

__all__ = ["State", "Transition"]


class State(str, enum.Enum):
    """The three breaker states; compares equal to its name (``State.OPEN == "OPEN"``)."""

    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True, slots=True)
class Transition:
    """One state change.

    ``at`` is the breaker clock (``time.monotonic`` unless injected); ``wall_time`` is
    ``time.time()`` at the moment of the change, for reports; ``breaker`` is the breaker's name.
    OPEN → HALF_OPEN is applied lazily, by the first call, ``state`` read or ``metrics()`` after
    the open timeout, so its ``at`` is when that happened (never before the timeout).
    """

    from_state: State
    to_state: State
    reason: str
    at: float
    wall_time: float = 0.0
    breaker: str = ""

    def as_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "breaker": self.breaker,
            "from": self.from_state.value,
            "to": self.to_state.value,
            "reason": self.reason,
            "at": self.at,
            "wall_time": self.wall_time,
        }

    def __str__(self) -> str:
        return f"{self.from_state.value} → {self.to_state.value} ({self.reason})"
