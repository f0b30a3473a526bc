"""The SQLite driver connection: one trip to aiosqlite's thread per statement, BEGIN IMMEDIATE
with the first one, and the same answers SQLAlchemy got from aiosqlite's own cursor."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from reference_app.config import SERVICE_BREAKERS
from reference_app.db import CallRepository, CallStatus, create_engine
from reference_app.observability import ApmRegistry
from reference_app.resilience import ManualClock


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}", busy_timeout=0.01)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What went to aiosqlite's thread, by function name."""
    sent: list[str] = []
    queue = aiosqlite.Connection._execute

    async def counted(self: Any, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        sent.append(getattr(fn, "__name__", repr(fn)))
        return await queue(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    return sent


@pytest.mark.anyio
async def test_a_write_transaction_is_two_trips(engine: AsyncEngine, trips: list[str]) -> None:
    repository = CallRepository(
        engine, SERVICE_BREAKERS["database"].build("database", clock=ManualClock()), ApmRegistry()
    )
    await repository.create_tables()
    trips.clear()
    call = await repository.create(order_id="1", shop="a.myshopify.com", phone="+91987")
    assert len(trips) == 2, trips  # the INSERT (after BEGIN IMMEDIATE), then COMMIT
    trips.clear()
    updated = await repository.update(call.id, status=CallStatus.FAILED)
    assert len(trips) == 2, trips  # UPDATE ... RETURNING with its row, then COMMIT
    assert updated is not None
    assert updated.status is CallStatus.FAILED
    assert await repository.get(call.id) == updated


@pytest.mark.anyio
async def test_the_first_statement_takes_the_write_lock(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "calls.db", timeout=0, isolation_level=None)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("SELECT 1"))  # a read, yet the lock is ours
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")  # committed: free again
        other.execute("ROLLBACK")
    finally:
        other.close()


@pytest.mark.anyio
async def test_a_held_lock_fails_the_first_statement(engine: AsyncEngine, tmp_path: Path) -> None:
    other = sqlite3.connect(tmp_path / "calls.db", isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(OperationalError, match="locked"):
            async with engine.begin() as connection:
                await connection.execute(text("SELECT 1"))
        other.execute("ROLLBACK")
        async with engine.begin() as connection:  # the connection is usable again
            assert (await connection.execute(text("SELECT 1"))).scalar() == 1
    finally:
        other.close()


@pytest.mark.anyio
async def test_a_transaction_that_ran_nothing_makes_no_trip(
    engine: AsyncEngine, trips: list[str]
) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("SELECT 1"))  # the pool's connection is made
    trips.clear()
    async with engine.begin():
        pass
    async with engine.connect() as connection:
        await connection.begin()
        await connection.rollback()
    assert trips == []
    async with engine.connect() as connection:  # and left nothing open
        raw = (await connection.get_raw_connection()).driver_connection
        assert not raw.in_transaction


@pytest.mark.anyio
async def test_rows_counts_and_descriptions_come_back(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)"))
        inserted = await connection.execute(
            text("INSERT INTO t (name) VALUES (:name)"), [{"name": n} for n in "abc"]
        )
        assert inserted.rowcount == 3  # executemany
        one = await connection.execute(text("INSERT INTO t (name) VALUES ('d')"))
        assert one.lastrowid == 4
        changed = await connection.execute(
            text("UPDATE t SET name = upper(name) WHERE id > 1 RETURNING id, name")
        )
        assert sorted(changed.all()) == [(2, "B"), (3, "C"), (4, "D")]
        selected = await connection.execute(text("SELECT id, name FROM t ORDER BY id"))
        assert list(selected.keys()) == ["id", "name"]
        assert selected.all() == [(1, "a"), (2, "B"), (3, "C"), (4, "D")]
        streamed = await connection.stream(text("SELECT name FROM t ORDER BY id"))
        assert [row.name async for row in streamed] == ["a", "B", "C", "D"]


@pytest.mark.anyio
async def test_a_failed_statement_rolls_back_the_transaction(engine: AsyncEngine) -> None:
    async with engine.begin() as connection:
        await connection.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))

    async def insert_then_fail() -> None:
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO t (id) VALUES (1)"))
            await connection.execute(text("SELECT * FROM missing"))

    with pytest.raises(OperationalError, match="no such table"):
        await insert_then_fail()
    async with engine.connect() as connection:
        assert (await connection.execute(text("SELECT count(*) FROM t"))).scalar() == 0


@pytest.mark.anyio
async def test_the_url_opens_the_database_it_names(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    sqlite3.connect(path).close()
    engine = create_engine(f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true")
    try:
        with pytest.raises(OperationalError, match="readonly"):
            async with engine.begin() as connection:
                await connection.execute(text("CREATE TABLE t (x INTEGER)"))
    finally:
        await engine.dispose()
