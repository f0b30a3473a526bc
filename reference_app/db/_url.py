"""DATABASE_URL handling: async drivers for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

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


def _sqlite_file_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL: readers never block the writer, and far fewer fsyncs per commit; wait for a busy
    # writer instead of failing at once (concurrent requests share the file).
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
    finally:
        cursor.close()


def create_engine(url: str | None) -> AsyncEngine:
    """An async engine for ``url``; in-memory SQLite shares one connection (StaticPool)."""
    normalised = normalise_database_url(url)
    parsed = make_url(normalised)
    kwargs: dict[str, Any] = {}
    in_memory = False
    if parsed.drivername.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False}
        in_memory = parsed.database in (None, "", ":memory:")
        if in_memory:
            kwargs["poolclass"] = StaticPool
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_async_engine(normalised, **kwargs)
    if parsed.drivername.startswith("sqlite") and not in_memory:
        event.listen(engine.sync_engine, "connect", _sqlite_file_pragmas)
    return engine
