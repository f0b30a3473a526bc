"""The upgrade in docs/redial.md, run as written on a ``calls`` table from before re-dialling:
the worker's columns are added, old queued calls are in doubt (never re-dialled) until an
operator hands one over, and PostgreSQL's script is safe to run again."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, MetaData, Table, insert, inspect

from reference_app.config import SERVICE_BREAKERS
from reference_app.db import CallRepository, CallRow, RedialClaims, create_engine, utcnow
from reference_app.observability import ApmRegistry
from reference_app.resilience import ManualClock

DOC = Path(__file__).resolve().parents[2] / "docs" / "redial.md"
REDIAL_COLUMNS = frozenset(
    {"dial_started_at", "dial_attempts", "next_dial_at", "claimed_by", "claim_expires_at"}
)


def _section() -> str:
    return DOC.read_text(encoding="utf-8").split("## Upgrading a database")[1].split("\n## ")[0]


def upgrade_statements(dialect: str) -> list[str]:
    """The documented script for ``dialect``, statement by statement (BEGIN/COMMIT: the test's
    own transaction)."""
    postgresql, sqlite = re.findall(r"```sql\n(.*?)```", _section(), re.S)
    script = postgresql if dialect == "postgresql" else sqlite
    statements = [s.strip() for s in script.split(";") if s.strip()]
    return [s for s in statements if s not in ("BEGIN", "COMMIT")]


def hand_over_statement(call_id: str) -> str:
    found = re.search(r"`(UPDATE calls SET dial_started_at = NULL,.*?)`", _section(), re.S)
    assert found is not None
    return " ".join(found.group(1).split()).replace("<call id>", call_id)


def old_calls_table() -> Table:
    """``calls`` as it was before re-dialling: every column but the worker's."""
    table: Any = CallRow.__table__
    old = [c._copy() for c in table.columns if c.name not in REDIAL_COLUMNS]
    return Table("calls", MetaData(), *old)


def columns_and_indexes(connection: Connection) -> tuple[set[str], set[str]]:
    inspector = inspect(connection)
    columns = {c["name"] for c in inspector.get_columns("calls")}
    return columns, {str(i["name"]) for i in inspector.get_indexes("calls")}


@pytest.mark.anyio
async def test_the_documented_upgrade_adds_the_redial_columns(database_url: str) -> None:
    engine = create_engine(database_url)
    breaker = SERVICE_BREAKERS["database"].build("database", clock=ManualClock())
    repository = CallRepository(engine, breaker, ApmRegistry())
    claims = RedialClaims(repository)
    old = old_calls_table()
    before = utcnow() - dt.timedelta(days=1)
    legacy = {"id": "legacy", "order_id": "1", "shop": "a.myshopify.com", "phone": "+91987"}
    legacy |= {"status": "queued", "recording_upload_pending": False}
    legacy |= {"created_at": before, "updated_at": before}
    try:
        async with engine.begin() as connection:
            await connection.run_sync(old.metadata.create_all)
            await connection.execute(insert(old), [legacy])

        async def upgrade() -> None:
            async with engine.begin() as connection:
                for statement in upgrade_statements(engine.dialect.name):
                    await connection.exec_driver_sql(statement)

        await upgrade()
        async with engine.connect() as connection:
            columns, indexes = await connection.run_sync(columns_and_indexes)
        assert columns == set(CallRow.__table__.columns.keys())
        assert "ix_calls_next_dial_at" in indexes
        await repository.create_tables()  # the app's own startup step: nothing to add now
        fresh = await repository.create(order_id="2", shop="a.myshopify.com", phone="+91987")
        later = utcnow() + dt.timedelta(hours=1)

        def claim() -> Any:
            return claims.claim("me", now=later, lease=30, limit=20, max_attempts=6)

        assert await claim() == []  # an old queued call is never dialled on its own
        doubt = await claims.in_doubt(now=later, older_than=0)
        assert {c.id for c in doubt} == {"legacy", fresh.id}
        async with engine.begin() as connection:
            await connection.exec_driver_sql(hand_over_statement("legacy"))
        if engine.dialect.name == "postgresql":
            await upgrade()  # run again: a call handed over stays handed over
        assert [(call.id, attempts) for call, attempts in await claim()] == [("legacy", 0)]
    finally:
        await engine.dispose()
