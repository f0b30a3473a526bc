"""The async engine for DATABASE_URL (which URLs are accepted is the configuration's rule)."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

from reference_app.config import DEFAULT_DATABASE_URL, normalise_database_url

from . import _sqlite

__all__ = ["DEFAULT_DATABASE_URL", "create_engine", "normalise_database_url"]


#: Seconds to wait for another process's SQLite write lock: a locked database fails the
#: request in half a second (503, counted against the database breaker, which opens after its
#: threshold and then answers at once) instead of stalling it.
BUSY_TIMEOUT_SECONDS = 0.5
#: Seconds a request may queue for the one SQLite connection. Not shorter: under a burst the
#: queue is long but moves (each transaction takes milliseconds). Behind a locked database the
#: queue does not wait this long: once the operation ahead fails on the lock, every operation
#: already queued fails at once (reference_app/db/_errors.py, FailedWhileQueued).
POOL_TIMEOUT_SECONDS = 10.0


def create_engine(
    url: str | None,
    *,
    busy_timeout: float = BUSY_TIMEOUT_SECONDS,
    pool_timeout: float = POOL_TIMEOUT_SECONDS,
) -> AsyncEngine:
    """An async engine for ``url``.

    SQLite allows one writer at a time, so a SQLite database gets a single pooled connection:
    concurrent requests queue for it in order (no lock polling, no "database is locked"; for
    in-memory SQLite, no two sessions interleaving on one connection), each transaction
    begins IMMEDIATE so writers in other processes wait instead of failing, and a statement is
    one trip to the driver's thread (reference_app/db/_sqlite.py). PostgreSQL keeps a
    normal pool. ``busy_timeout`` (seconds) bounds the wait for another process's write lock,
    ``pool_timeout`` (seconds) a SQLite request's wait for the connection.
    """
    normalised = normalise_database_url(url)
    if not make_url(normalised).drivername.startswith("sqlite"):
        return create_async_engine(normalised, pool_pre_ping=True)
    # pool_size=1 also keeps an in-memory database alive: it lives as long as its connection.
    engine: AsyncEngine = create_async_engine(
        normalised,
        async_creator=_sqlite.connector(lambda: engine),  # one trip per statement
        poolclass=AsyncAdaptedQueuePool,  # the default for in-memory is StaticPool: no queue
        pool_size=1,
        max_overflow=0,
        pool_timeout=pool_timeout,
        pool_reset_on_return=None,  # _sqlite.on_reset
    )
    event.listen(engine.sync_engine, "connect", _sqlite.on_connect(busy_timeout))
    event.listen(engine.sync_engine, "begin", _sqlite.on_begin)
    event.listen(engine.sync_engine.pool, "reset", _sqlite.on_reset)
    return engine
