"""Where a production build or startup stopped: at a connection (refused by the check's
network guard, or on this machine where nothing listens), which it got as far as having passed
what the app validates before it, or at a refusal of its configuration.

A connection the guard refused is no stop by itself: an app's log shipper is refused and goes
on, and the build may then refuse its configuration. Only an error that came of a connection
(an ``OSError`` in its chain, a client's error named for connecting, or one naming a refused
host) counts as stopped there.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Iterator
from typing import NamedTuple

from ._exception_chain import chain
from ._lifespan import LifespanError
from ._network import NetworkBlockedError, NetworkGuard

__all__ = ["Stop", "connecting"]


class Stop(NamedTuple):
    """Where a phase stopped (None: it did not stop at a connection), and the refused
    connections it went on past before that (``host:port``, how, and the client)."""

    at: str | None
    passed: list[str]


def connecting(network: NetworkGuard, error: Exception, phase: str) -> Stop:
    """Where a ``phase`` (the build, the startup) that failed only on connecting stopped: at a
    host the guard refused, or at a connection refused on this machine (nothing listens
    there); ``at`` is None for any other failure, a refusal of the configuration.

    The stop is the connection the error came of: a refused host its chain names, else a
    refusal on this machine (a plain ``ConnectionRefusedError``, not the guard's), else the
    last host the guard refused; the app went on past the others (a cache ping it caught)."""
    refused = [line.strip() for line in network.refused(faults=False)]
    named = [line for line in refused if _names(error, line)]
    if named:
        return Stop(_at_host(phase, named[-1]), [r for r in refused if r != named[-1]])
    if _refused_here(error):
        local = network.local
        last = f" (to {local[-1]} last)" if local else ""
        return Stop(
            f"its {phase} got as far as connecting on this machine{last}, where nothing "
            "listens (a server the known-good env names, not running for the test)",
            refused,
        )
    if refused and _from_connecting(error):
        return Stop(_at_host(phase, refused[-1]), refused[:-1])
    return Stop(None, refused)


def _at_host(phase: str, refused: str) -> str:
    return f"its {phase} got as far as connecting to {refused}, refused by the check"


def _names(error: BaseException, refused: str) -> bool:
    """Whether ``error``'s chain names the host of ``refused`` (the guard's refusal says it,
    a database driver the guard refused says it in its own words)."""
    host = refused.split()[0].rpartition(":")[0] if refused.split() else ""
    return bool(host) and any(host in text for current in _chain(error) for text in _texts(current))


def _texts(error: BaseException) -> list[str]:
    texts = [str(error)]
    if isinstance(error, LifespanError):
        texts += _exception_lines(error.details)
    return texts


def _from_connecting(error: BaseException) -> bool:
    """Whether ``error`` came of a connection, not of a check that failed after some other
    connection was refused and passed over (a log handler shipping records, which never
    breaks the app): an ``OSError`` in its chain, or a client's error named for connecting."""
    return any(
        isinstance(current, OSError) or _CONNECTING.search(type(current).__name__)
        for current in _chain(error)
    )


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, its causes and contexts, and what a failed startup raised after saying so
    (its chain, which the startup's text may leave out)."""
    return chain(error, lambda e: e.raised if isinstance(e, LifespanError) else None)


#: Exception types of clients that failed to connect (httpx's ConnectError, SQLAlchemy's
#: OperationalError, pymongo's ServerSelectionTimeoutError, grpc's UNAVAILABLE errors).
_CONNECTING = re.compile(r"Connect|Operational|Unavailable|Timeout|ServerSelection")


def _refused_here(error: BaseException) -> bool:
    """A connection refused (ECONNREFUSED) in ``error``'s chain, or named by an exception of
    the traceback a Starlette startup failure carries as its message (a client's own error,
    such as redis-py's ``ConnectionError``, prints the refusal it was raised from above it)."""
    for current in _chain(error):
        if isinstance(current, NetworkBlockedError):
            continue  # the guard's refusal of a host off this machine
        if isinstance(current, ConnectionRefusedError) or (
            isinstance(current, OSError) and current.errno == errno.ECONNREFUSED
        ):
            return True
        if isinstance(current, LifespanError) and any(
            _REFUSED.search(line) for line in _exception_lines(current.details)
        ):
            return True
    return False


def _exception_lines(traceback: str) -> list[str]:
    """The exceptions a printed traceback names (its unindented lines), not the source lines
    of its frames, where an ``except ConnectionRefusedError`` could be quoted."""
    return [
        line
        for line in traceback.splitlines()
        if line.strip() and not line[0].isspace() and not line.startswith(_TRACEBACK_FRAMING)
    ]


_TRACEBACK_FRAMING = ("Traceback (", "During handling of", "The above exception")

#: How a startup failure's exception names a refused connection (its type, the OS's words,
#: redis-py's "Error 111 connecting to host:port").
_REFUSED = re.compile(
    rf"ConnectionRefusedError|Connection refused|\[Errno {errno.ECONNREFUSED}\] Connect call failed"
    rf"|\bError {errno.ECONNREFUSED} connecting to\b"
)
