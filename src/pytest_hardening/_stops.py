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

from ._app import LifespanError
from ._network import NetworkGuard

__all__ = ["connecting"]


def connecting(network: NetworkGuard, error: Exception, phase: str) -> str | None:
    """Where a ``phase`` (the build, the startup) that failed only on connecting stopped: at a
    host the guard refused, or at a connection refused on this machine (nothing listens
    there); None for any other failure, a refusal of the configuration."""
    refused = network.refused(faults=False)
    if refused and _from_connecting(error, refused):
        return f"its {phase} got as far as connecting to {refused[0].strip()}, refused by the check"
    if _refused_here(error):
        return (
            f"its {phase} got as far as connecting on this machine, where nothing listens "
            "(a server the known-good env names, not running for the test)"
        )
    return None


def _from_connecting(error: BaseException, refused: list[str]) -> bool:
    """Whether ``error`` came of a connection (the guard refused those in ``refused``), not of
    a check that failed after some other connection was refused and passed over (a log
    handler shipping records, which never breaks the app): an ``OSError`` in its chain, a
    client's error named for connecting, or one naming a refused host (a database driver the
    guard refused in its own words)."""
    hosts = {line.split()[0].rpartition(":")[0] for line in refused if line.split()}
    for current in _chain(error):
        if isinstance(current, OSError) or _CONNECTING.search(type(current).__name__):
            return True
        texts = [str(current)]
        if isinstance(current, LifespanError):
            texts += _exception_lines(current.details)
        if any(host and host in text for host in hosts for text in texts):
            return True
    return False


def _chain(error: BaseException) -> Iterator[BaseException]:
    """``error``, its causes and contexts, and what a failed startup raised after saying so
    (its chain, which the startup's text may leave out)."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        if isinstance(current, LifespanError) and current.raised is not None:
            current = current.raised
        else:
            current = current.__cause__ or current.__context__


#: Exception types of clients that failed to connect (httpx's ConnectError, SQLAlchemy's
#: OperationalError, pymongo's ServerSelectionTimeoutError, grpc's UNAVAILABLE errors).
_CONNECTING = re.compile(r"Connect|Operational|Unavailable|Timeout|ServerSelection")


def _refused_here(error: BaseException) -> bool:
    """A connection refused (ECONNREFUSED) in ``error``'s chain, or named by an exception of
    the traceback a Starlette startup failure carries as its message (a client's own error,
    such as redis-py's ``ConnectionError``, prints the refusal it was raised from above it)."""
    for current in _chain(error):
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
