"""The async engine for DATABASE_URL (which URLs are accepted is the configuration's rule)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool, PoolResetState

from reference_app.config import DEFAULT_DATABASE_URL, normalise_database_url

__all__ = ["DEFAULT_DATABASE_URL", "create_engine", "normalise_database_url"]


def _sqlite_connect(busy_timeout: float) -> Callable[[Any, Any], None]:
    def connect(dbapi_connection: Any, _record: Any) -> None:
        # WAL: readers never block the writer, and far fewer fsyncs per commit; wait for a busy
        # writer (another process) instead of failing at once.
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        finally:
            cursor.close()
        # The driver would BEGIN lazily (deferred, and only before a write); take over (below).
        dbapi_connection.isolation_level = None

    return connect


def _sqlite_begin_immediate(connection: Connection) -> None:
    # A deferred transaction that reads and then writes must upgrade its lock, and SQLite
    # answers a contended upgrade with SQLITE_BUSY at once (busy_timeout cannot help: waiting
    # could deadlock). BEGIN IMMEDIATE takes the write lock up front, where busy_timeout applies.
    # Sent straight to aiosqlite: one trip to its thread, where a statement through SQLAlchemy
    # takes three (cursor, execute, close), and every transaction begins here.
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None  # a connection in use is never detached from its driver
    try:
        dbapi.run_async(lambda driver: driver.execute_fetchall(_BEGIN))
    except sqlite3.OperationalError as exc:
        # SQLite's refusal (the write lock stayed taken past busy_timeout), reported as
        # SQLAlchemy reports a statement's: the repository answers 503 for it.
        raise DBAPIError.instance(_BEGIN, None, exc, sqlite3.Error) from exc
    except Exception:
        # A closed connection or a stopped driver thread: the statement path again, whose error
        # handling also invalidates a dead connection, so the pool opens a new one.
        connection.exec_driver_sql(_BEGIN)


_BEGIN = "BEGIN IMMEDIATE"


def _sqlite_reset(dbapi: Any, _record: Any, state: PoolResetState) -> None:
    # The pool's own reset (a rollback on every check-in, one more trip to aiosqlite's thread)
    # is off: each transaction ended with its commit or rollback. Roll back only what is still
    # open. A connection being garbage-collected (no event loop to await on) is closed next,
    # and closing rolls back.
    if state.asyncio_safe and _in_transaction(dbapi):
        dbapi.rollback()


def _in_transaction(dbapi: Any) -> bool:
    try:
        return bool(dbapi.driver_connection.in_transaction)
    except ValueError:  # closed: the rollback fails, and the pool discards it, as before
        return True


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
    in-memory SQLite, no two sessions interleaving on one connection), and each transaction
    begins IMMEDIATE so writers in other processes wait instead of failing. PostgreSQL keeps a
    normal pool. ``busy_timeout`` (seconds) bounds the wait for another process's write lock,
    ``pool_timeout`` (seconds) a SQLite request's wait for the connection.
    """
    normalised = normalise_database_url(url)
    if not make_url(normalised).drivername.startswith("sqlite"):
        return create_async_engine(normalised, pool_pre_ping=True)
    # pool_size=1 also keeps an in-memory database alive: it lives as long as its connection.
    engine = create_async_engine(
        normalised,
        connect_args={"check_same_thread": False},
        poolclass=AsyncAdaptedQueuePool,  # the default for in-memory is StaticPool: no queue
        pool_size=1,
        max_overflow=0,
        pool_timeout=pool_timeout,
        pool_reset_on_return=None,  # _sqlite_reset
    )
    event.listen(engine.sync_engine, "connect", _sqlite_connect(busy_timeout))
    event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
    event.listen(engine.sync_engine.pool, "reset", _sqlite_reset)
    return engine
