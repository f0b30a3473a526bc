"""The typed error an open breaker raises instead of calling the protected function."""

from __future__ import annotations

from typing import TYPE_CHECKING

__all__ = ["CircuitOpenError"]


class CircuitOpenError(Exception):
    """``CircuitOpenError(name, retry_after)``: breaker ``name`` rejected a call.

    ``retry_after`` is the number of seconds until the breaker will admit a probe. A fresh
    instance is raised for every rejection: re-raising one shared instance would grow its
    ``__traceback__`` without bound (a known defect of a peer library).
    """

    # No Python-level __init__: rejections are a hot path, and BaseException's C constructor
    # storing ``args`` is several hundred ns cheaper. The fields are read back from ``args``.
    __slots__ = ()

    if TYPE_CHECKING:

        def __init__(self, name: str, retry_after: float) -> None: ...

    @property
    def name(self) -> str:
        """The breaker's name."""
        return str(self.args[0])

    @property
    def retry_after(self) -> float:
        """Seconds until the next probe is allowed (never negative)."""
        seconds = float(self.args[1])
        return seconds if seconds > 0.0 else 0.0

    def __str__(self) -> str:
        return (
            f"circuit breaker {self.name!r} is open; next probe allowed in {self.retry_after:.1f}s"
        )
