"""Concurrent writers: no request may fail on a lock (SQLite file and memory, PostgreSQL)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import text

from reference_app.config import SERVICE_BREAKERS
from reference_app.db import CallRepository, CallStatus, create_engine
from reference_app.observability import ApmRegistry
from reference_app.resilience import ManualClock

WRITERS = 64


@pytest.mark.anyio
@pytest.mark.parametrize("where", ["file", "memory", "postgresql"])
async def test_concurrent_creates_and_updates_never_wait_on_the_lock(
    tmp_path: Path, where: str, request: pytest.FixtureRequest
) -> None:
    # A 10 ms busy_timeout: if the app's own connections contended for SQLite's write lock (as
    # with a multi-connection pool: "database is locked" once the machine is loaded), this
    # would fail at once. In-process writers must queue for the connection instead; in memory,
    # sessions must not interleave on one shared connection ("cannot commit transaction").
    # PostgreSQL: row locks and a connection pool, no database-wide write lock to contend for.
    url = {
        "file": f"sqlite+aiosqlite:///{tmp_path / 'busy.db'}",
        "memory": "sqlite+aiosqlite://",
    }.get(where) or request.getfixturevalue("postgres_url")
    apm = ApmRegistry()
    breaker = SERVICE_BREAKERS["database"].build("database", clock=ManualClock())
    # The queue for the one SQLite connection is the point, not its bound: 64 writers wait up
    # to ~1.5 s here beside four CPU burners, so the app's 10 s would be near on a 4x slower
    # machine under load.
    engine = create_engine(url, busy_timeout=0.01, pool_timeout=120)
    repository = CallRepository(engine, breaker, apm)
    await repository.create_tables()

    async def place(n: int) -> str:
        call = await repository.create(order_id=str(n), shop="a.myshopify.com", phone="+91987")
        updated = await repository.update(
            call.id, script=f"script {n}", status=CallStatus.INITIATED, exotel_call_sid=f"sid-{n}"
        )
        assert updated is not None
        assert (updated.script, updated.status) == (f"script {n}", CallStatus.INITIATED)
        assert updated.updated_at >= call.updated_at
        return call.id

    try:
        outcomes = await asyncio.wait_for(
            asyncio.gather(*(place(n) for n in range(WRITERS)), return_exceptions=True), 60
        )
        failures = [repr(o.__cause__ or o) for o in outcomes if isinstance(o, BaseException)]
        assert not failures, f"{len(failures)} of {WRITERS} writers failed, e.g. {failures[:3]}"
        async with engine.connect() as connection:
            rows = (
                await connection.execute(
                    text("SELECT id, script, status, exotel_call_sid FROM calls")
                )
            ).all()
    finally:
        await engine.dispose()

    assert apm.db().errors == 0
    assert breaker.state == "CLOSED"
    assert sorted(row[0] for row in rows) == sorted(str(o) for o in outcomes)
    assert all(script and status == "initiated" and sid for _, script, status, sid in rows)


@pytest.mark.anyio
async def test_a_writer_in_another_process_is_waited_for_not_failed(tmp_path: Path) -> None:
    path = tmp_path / "shared.db"
    breaker = SERVICE_BREAKERS["database"].build("database", clock=ManualClock())
    # Far longer than the test holds the lock (0.2 s): a stalled machine cannot turn the wait
    # into "database is locked".
    engine = create_engine(f"sqlite+aiosqlite:///{path}", busy_timeout=60.0)
    repository = CallRepository(engine, breaker, ApmRegistry())
    try:
        call = await repository.create(order_id="1", shop="a.myshopify.com", phone="+91987")
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock...
        other.execute("UPDATE calls SET script = 'theirs'")
        pending = asyncio.ensure_future(repository.update(call.id, status=CallStatus.FAILED))
        await asyncio.sleep(0.2)
        assert not pending.done(), "the update should wait for the other writer"
        other.execute("COMMIT")  # ...and lets go: ours proceeds, on top of theirs
        other.close()
        updated = await asyncio.wait_for(pending, 10)
    finally:
        await engine.dispose()
    assert updated is not None
    assert (updated.status, updated.script) == (CallStatus.FAILED, "theirs")


@pytest.mark.anyio
@pytest.mark.parametrize("returning", [True, False], ids=["returning", "without-returning"])
async def test_update_is_one_statement_with_or_without_returning(
    database_url: str, returning: bool
) -> None:
    breaker = SERVICE_BREAKERS["database"].build("database", clock=ManualClock())
    engine = create_engine(database_url)
    repository = CallRepository(engine, breaker, ApmRegistry())
    try:
        call = await repository.create(order_id="1", shop="a.myshopify.com", phone="+91987")
        engine.dialect.update_returning = returning  # as the dialect decides per server version
        updated = await repository.update(call.id, status=CallStatus.BUSY, script="s")
        missing = await repository.update("no-such-call", status=CallStatus.BUSY)
        stored = await repository.get(call.id)
    finally:
        await engine.dispose()
    assert updated is not None
    assert (updated.status, updated.script) == (CallStatus.BUSY, "s")
    assert updated == stored
    assert updated.updated_at >= call.updated_at
    assert missing is None
