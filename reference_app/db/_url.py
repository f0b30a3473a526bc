"""DATABASE_URL handling: async drivers for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

__all__ = ["DEFAULT_DATABASE_URL", "create_engine", "normalise_database_url"]

#: DATABASE_URL unset → a SQLite file in the working directory.
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./reference_app.db"

_ALIASES: Mapping[str, str] = MappingProxyType(
    {
        "postgres": "postgresql+asyncpg",
        "postgresql": "postgresql+asyncpg",
        "postgresql+psycopg2": "postgresql+asyncpg",
        "sqlite": "sqlite+aiosqlite",
    }
)


def normalise_database_url(url: str | None) -> str:
    """Map ``postgres://``/``postgresql://``/``sqlite://`` onto their async drivers.

    Raises ``ValueError`` (without the URL: it may hold a password) for other schemes.
    """
    if not url:
        return DEFAULT_DATABASE_URL
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise ValueError("DATABASE_URL is not a valid database URL") from None
    driver = _ALIASES.get(parsed.drivername, parsed.drivername)
    if driver not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        raise ValueError("DATABASE_URL must be a sqlite:// or postgresql:// URL")
    return parsed.set(drivername=driver).render_as_string(hide_password=False)


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
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str | None, *, busy_timeout: float = 5.0) -> AsyncEngine:
    """An async engine for ``url``.

    SQLite allows one writer at a time, so a SQLite database gets a single pooled connection:
    concurrent requests queue for it in order (no lock polling, no "database is locked"; for
    in-memory SQLite, no two sessions interleaving on one connection), and each transaction
    begins IMMEDIATE so writers in other processes wait instead of failing. PostgreSQL keeps a
    normal pool. ``busy_timeout`` (seconds) bounds the wait for another process's write lock.
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
        pool_timeout=30,
    )
    event.listen(engine.sync_engine, "connect", _sqlite_connect(busy_timeout))
    event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
    return engine
