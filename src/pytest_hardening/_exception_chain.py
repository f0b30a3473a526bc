"""chain: an exception, then what it was raised from or during, each once (a cycle ends it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

__all__ = ["chain"]


def chain(
    error: BaseException,
    then: Callable[[BaseException], BaseException | None] | None = None,
) -> Iterator[BaseException]:
    """``error``, its cause or context, theirs, and so on; ``then(current)``, when given and
    not None, is followed instead (an exception that carries another of its own)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        special = then(current) if then is not None else None
        current = special if special is not None else current.__cause__ or current.__context__
