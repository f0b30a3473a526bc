"""Persistence: DATABASE_URL normalisation, aware UTC timestamps, breaker + APM on every op."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from pytest_hardening import Clock
from reference_app.config import SERVICE_BREAKERS
from reference_app.db import (
    DEFAULT_DATABASE_URL,
    Call,
    CallRepository,
    CallStatus,
    DatabaseUnavailable,
    IdempotencyClaim,
    create_engine,
    normalise_database_url,
)
from reference_app.fakes import database_outage
from reference_app.observability import ApmRegistry
from reference_app.resilience import ManualClock


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, DEFAULT_DATABASE_URL),
        ("", DEFAULT_DATABASE_URL),
        ("postgres://u:p@db:5432/calls", "postgresql+asyncpg://u:p@db:5432/calls"),
        ("postgresql://u:p@db/calls", "postgresql+asyncpg://u:p@db/calls"),
        ("postgresql+asyncpg://u:p@db/calls", "postgresql+asyncpg://u:p@db/calls"),
        ("sqlite:///./x.db", "sqlite+aiosqlite:///./x.db"),
    ],
)
def test_database_urls_are_normalised_to_async_drivers(url: str | None, expected: str) -> None:
    assert normalise_database_url(url) == expected


def test_unsupported_database_urls_are_refused_without_echoing_them() -> None:
    with pytest.raises(ValueError, match="sqlite:// or postgresql://") as error:
        normalise_database_url("mysql://root:hunter2@db/x")
    assert "hunter2" not in str(error.value)
    with pytest.raises(ValueError, match="not a valid database URL") as error:
        normalise_database_url("hunter2 is not a url")
    assert "hunter2" not in str(error.value)


@pytest.fixture
def apm() -> ApmRegistry:
    return ApmRegistry()


@pytest.fixture
def repository(database_url: str, apm: ApmRegistry) -> CallRepository:
    """A repository on a SQLite file, then on a PostgreSQL database (``database_url``)."""
    breaker = SERVICE_BREAKERS["database"].build("database", clock=ManualClock())
    engine = create_engine(database_url)
    return CallRepository(engine, breaker, apm)


@pytest.mark.anyio
async def test_calls_round_trip_with_aware_utc_timestamps(repository: CallRepository) -> None:
    with Clock(dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)) as clock:
        call = await repository.create(order_id="1", shop="a.myshopify.com", phone="+911234567")
        clock.advance(300)
        updated = await repository.update(call.id, status=CallStatus.COMPLETED)

    assert updated is not None
    stored = await repository.get(call.id)
    assert stored == updated
    assert stored.status is CallStatus.COMPLETED
    assert stored.created_at == dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.timezone.utc)
    assert stored.updated_at == dt.datetime(2026, 3, 1, 12, 5, tzinfo=dt.timezone.utc)
    assert await repository.update("missing", status=CallStatus.FAILED) is None
    await repository.engine.dispose()


@pytest.mark.anyio
async def test_in_memory_sqlite_works_for_tests() -> None:
    repository = CallRepository(
        create_engine("sqlite+aiosqlite://"),
        SERVICE_BREAKERS["database"].build("database"),
        ApmRegistry(),
    )
    call = await repository.create(order_id="1", shop="a.myshopify.com", phone="+911234567")
    assert (await repository.get(call.id)) == call
    await repository.engine.dispose()


@pytest.mark.anyio
async def test_a_sqlite_connection_returned_inside_a_transaction_is_rolled_back(
    tmp_path: Path,
) -> None:
    # The pool's rollback on every check-in is off for SQLite (each transaction ends itself);
    # one still open when its connection comes back is rolled back all the same.
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    try:
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            await raw.execute_fetchall("BEGIN IMMEDIATE")
            await raw.execute_fetchall("CREATE TABLE left_open (x INTEGER)")
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            assert not raw.in_transaction
            assert await raw.execute_fetchall("SELECT name FROM sqlite_master") == []
        # A transaction that ended is not rolled back on check-in: its writes stay.
        async with engine.begin() as connection:
            await connection.exec_driver_sql("CREATE TABLE kept (x INTEGER)")
        async with engine.connect() as connection:
            names = await connection.exec_driver_sql("SELECT name FROM sqlite_master")
            assert names.scalars().all() == ["kept"]
    finally:
        await engine.dispose()


@pytest.mark.anyio
async def test_a_dead_sqlite_connection_is_replaced(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}")
    try:
        async with engine.connect() as connection:
            raw = (await connection.get_raw_connection()).driver_connection
            await raw.close()  # its thread stops: the pooled connection is dead
            with pytest.raises(OperationalError):  # BEGIN travels with the first statement
                async with connection.begin():
                    await connection.exec_driver_sql("SELECT 1")
        async with engine.begin() as connection:  # the dead one was discarded, not reused
            assert (await connection.exec_driver_sql("SELECT 1")).scalar() == 1
    finally:
        await engine.dispose()


@pytest.mark.anyio
async def test_every_operation_goes_through_the_breaker_and_apm(
    repository: CallRepository, apm: ApmRegistry
) -> None:
    await repository.create_tables()
    with database_outage(repository.engine):
        for _ in range(10):
            with pytest.raises(DatabaseUnavailable):
                await repository.get("x")
    assert repository.breaker.state.value == "OPEN"
    with pytest.raises(DatabaseUnavailable) as error:
        await repository.get("x")
    assert error.value.retry_after == 60.0
    assert apm.db("get_call").count == 10  # rejected calls never reached the database
    assert apm.db("get_call").errors == 10
    await repository.engine.dispose()


@pytest.mark.anyio
async def test_a_new_call_is_what_the_database_then_reads_back(
    repository: CallRepository,
) -> None:
    """``create``/``create_once`` answer without reading the row back: what they return must
    be what is stored, to the microsecond (not a frozen whole second)."""
    call = await repository.create(order_id="1", shop="a.myshopify.com", phone="+911234567")
    claim = IdempotencyClaim("m1", "key-1", "0" * 64)
    once = await repository.create_once(
        claim, order_id="2", shop="a.myshopify.com", phone="+911234568"
    )
    assert isinstance(once, Call)
    for made in (call, once):
        assert made.created_at.microsecond or made.updated_at.microsecond  # real time, not :00
        assert (await repository.get(made.id)) == made
    assert made.status is CallStatus.QUEUED
    assert made.exotel_call_sid is None
    await repository.engine.dispose()
