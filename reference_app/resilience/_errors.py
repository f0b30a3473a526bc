"""The typed error an open breaker raises instead of calling the protected function."""

from __future__ import annotations

__all__ = ["CircuitOpenError"]


class CircuitOpenError(Exception):
    """The breaker ``name`` rejected a call; the next probe is allowed in ``retry_after`` seconds.

    A fresh instance is raised for every rejection: re-raising one shared instance would grow
    its ``__traceback__`` without bound (a known defect of a peer library).
    """

    __slots__ = ("name", "retry_after")

    def __init__(self, name: str, retry_after: float) -> None:
        # Message formatting is deferred to __str__: rejections are a hot path.
        super().__init__(name, retry_after)
        self.name = name
        self.retry_after = retry_after if retry_after > 0.0 else 0.0

    def __str__(self) -> str:
        return (
            f"circuit breaker {self.name!r} is open; next probe allowed in {self.retry_after:.1f}s"
        )

    def __reduce__(self) -> tuple[type[CircuitOpenError], tuple[str, float]]:
        return (type(self), (self.name, self.retry_after))
