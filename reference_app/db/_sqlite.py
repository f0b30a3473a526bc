"""SQLite through aiosqlite, in as few trips to its thread as a transaction needs.

aiosqlite runs every driver call in a thread of its own, and a trip there and back costs more
than a small statement does (about 0.1 ms of CPU against microseconds). SQLAlchemy's adapter
makes three or four trips per statement (cursor, execute, fetchall, close), and a transaction
took one more for its ``BEGIN IMMEDIATE``. Here the connection's cursor makes one trip per
statement (its rows, row count and description come back with it), and ``BEGIN IMMEDIATE``
travels with the transaction's first statement: a write that took five or six trips takes two
(the statement, then ``COMMIT``). What SQLite is asked, and when it commits, are unchanged.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Awaitable, Callable, Generator, Iterable, Sequence
from typing import Any

import aiosqlite
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import PoolResetState

__all__ = ["OneTripConnection", "connector", "on_begin", "on_connect", "on_reset"]

_BEGIN = "BEGIN IMMEDIATE"
#: What a cursor's ``description`` is (DB-API): one 7-tuple per column.
_Description = tuple[tuple[Any, ...], ...] | None


class OneTripConnection(aiosqlite.Connection):
    """An aiosqlite connection whose transactions begin ``IMMEDIATE`` with their first trip.

    :meth:`begin_immediate` only marks the transaction begun: the ``BEGIN IMMEDIATE`` runs in
    the thread right before whatever goes there next, so a lock it waits for (``busy_timeout``)
    or fails on is reported by that statement. A transaction that ran nothing commits or rolls
    back without a trip.
    """

    _begin_pending = False

    def begin_immediate(self) -> None:
        self._begin_pending = True

    @property
    def in_transaction(self) -> bool:
        # A marked transaction is open: the pool's reset then rolls it back (no trip), so the
        # mark never outlives the checkout.
        return self._begin_pending or super().in_transaction

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        queue: Callable[..., Awaitable[Any]] = super()._execute
        if not self._begin_pending:
            return await queue(fn, *args, **kwargs)
        self._begin_pending = False
        return await queue(_after_begin, self._conn, fn, *args, **kwargs)

    async def commit(self) -> None:
        if self._begin_pending:
            self._begin_pending = False  # nothing ran: nothing to commit
        else:
            await super().commit()

    async def rollback(self) -> None:
        if self._begin_pending:
            self._begin_pending = False
        else:
            await super().rollback()

    async def close(self) -> None:
        self._begin_pending = False
        await super().close()

    def cursor(self) -> _Cursor:  # type: ignore[override]  # SQLAlchemy only awaits it
        return _Cursor(self)

    async def run_in_thread(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """``fn(sqlite3_connection)`` in the driver's thread, one trip."""
        return await self._execute(lambda: fn(self._conn))


def _after_begin(conn: sqlite3.Connection, fn: Callable[..., Any], *args: Any, **kw: Any) -> Any:
    conn.execute(_BEGIN)
    return fn(*args, **kw)


class _Cursor:
    """The driver cursor SQLAlchemy's aiosqlite adapter drives: ``execute`` is the one trip,
    and it brings back everything the DB-API calls after it read (no trip for them)."""

    arraysize = 1

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self._rows: collections.deque[Any] = collections.deque()
        self.description: _Description = None
        self.rowcount = -1
        self.lastrowid: int | None = None

    def __await__(self) -> Generator[Any, None, _Cursor]:
        # ``await connection.cursor()`` (aiosqlite's own form) makes no trip.
        yield from ()
        return self

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._rows.clear()

    async def execute(self, sql: str, parameters: Any = None) -> _Cursor:
        done = await self._connection.run_in_thread(
            lambda conn: _one_statement(conn, sql, parameters)
        )
        self.description, rows, self.rowcount, self.lastrowid = done
        self._rows = collections.deque(rows)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> _Cursor:
        def run(conn: sqlite3.Connection) -> int:
            cursor = conn.executemany(sql, parameters)
            try:
                return cursor.rowcount
            finally:
                cursor.close()

        self.rowcount = await self._connection.run_in_thread(run)
        self.description, self.lastrowid = None, None
        self._rows.clear()
        return self

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        count = min(size or self.arraysize, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()


def _one_statement(
    conn: sqlite3.Connection, sql: str, parameters: Any
) -> tuple[_Description, Sequence[Any], int, int | None]:
    cursor = conn.cursor()
    try:
        cursor.execute(sql, () if parameters is None else parameters)
        # All rows now, before the row count: SQLite counts a RETURNING statement's rows as
        # they are stepped through.
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def connector(engine: Callable[[], AsyncEngine]) -> Callable[[], Any]:
    """The engine's ``async_creator``: a :class:`OneTripConnection` opened as the URL says
    (path, ``file:`` URI, ``timeout``), usable from the event loop's thread as well."""

    async def connect() -> OneTripConnection:
        sync_engine = engine().sync_engine
        args, kwargs = sync_engine.dialect.create_connect_args(sync_engine.url)
        kwargs = {**kwargs, "check_same_thread": False}
        open_driver: Callable[..., sqlite3.Connection] = sqlite3.connect
        connection = OneTripConnection(lambda: open_driver(*args, **kwargs), 64)
        # As SQLAlchemy does for aiosqlite's own connections: a connection never closed must
        # not keep the interpreter from exiting.
        connection._thread.daemon = True
        await connection
        return connection

    return connect


def on_connect(busy_timeout: float) -> Callable[[Any, Any], None]:
    """The pool's ``connect`` hook: WAL, and a wait of ``busy_timeout`` for a busy writer."""

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
        # The driver would BEGIN lazily (deferred, and only before a write); on_begin does.
        dbapi_connection.isolation_level = None

    return connect


def on_begin(connection: Connection) -> None:
    """The engine's ``begin`` hook.

    A deferred transaction that reads and then writes must upgrade its lock, and SQLite answers
    a contended upgrade with SQLITE_BUSY at once (busy_timeout cannot help: waiting could
    deadlock). BEGIN IMMEDIATE takes the write lock up front, where busy_timeout applies.
    """
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None  # a connection in use is never detached from its driver
    dbapi.driver_connection.begin_immediate()


def on_reset(dbapi: Any, _record: Any, state: PoolResetState) -> None:
    """The pool's ``reset`` hook, in place of its rollback on every check-in (one more trip):
    each transaction ended with its commit or rollback, so roll back only what is still open.
    A connection being garbage-collected (no event loop to await on) is closed next, and
    closing rolls back."""
    if state.asyncio_safe and _in_transaction(dbapi):
        dbapi.rollback()


def _in_transaction(dbapi: Any) -> bool:
    try:
        return bool(dbapi.driver_connection.in_transaction)
    except ValueError:  # closed: the rollback fails, and the pool discards it, as before
        return True
