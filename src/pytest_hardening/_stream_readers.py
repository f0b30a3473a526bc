"""Who reads the app's streamed answer, for a provider's stream that stalls in the middle of
the app relaying it.

A stall is a wait for data that does not come; in production the app's client may leave during
it, and a server then cancels the app's read at once. Here the stall passes in virtual time, in
one step: when the app's read reached it before its client read the last event and left, the
stall passed first, and the app failed with a read timeout its client never caused (a trial's
relay). While the plugin's client serves a request, the app's tasks know its reader
(:data:`READER`); a stall first waits until that reader asks for more, or leaves, in which case
the app's server-side cancellation (Starlette listens for the disconnect) comes before it.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Protocol

__all__ = ["LEAVING_TURNS", "READER", "Reader", "reader_wants_more"]


#: Turns of the loop a stall waits after its reader left: for the app to see the disconnect.
LEAVING_TURNS = 8


class Reader(Protocol):
    """The caller reading an app's streamed answer."""

    async def wants_more(self) -> None:
        """Return once the caller asks for more of the answer, or has left it."""


#: The reader of the answer the app is serving in this task (set by the plugin's client).
READER: ContextVar[Reader | None] = ContextVar("pytest_hardening_stream_reader", default=None)


async def reader_wants_more() -> None:
    """Wait until the reader of the answer being served asks for more (at once without one)."""
    reader = READER.get()
    if reader is not None:
        await reader.wants_more()
