"""Call persistence: the calls, idempotency keys, webhook deliveries and recording retries.

Each operation is one transaction run by :class:`~reference_app.db._transactions.Transactions`
(behind the ``database`` breaker, every operation timed by APM).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from ._models import (
    Base,
    CallRow,
    CallStatus,
    IdempotencyRow,
    RecordingRetryRow,
    WebhookDeliveryRow,
    utcnow,
)
from ._records import Call, IdempotencyClaim, IdempotentReplay
from ._retention import Retention, delivery_expired, idempotency_expired
from ._transactions import Transactions

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

    from reference_app.observability import ApmRegistry
    from reference_app.resilience import CircuitBreaker

__all__ = ["CallRepository"]

_CALLS = cast("Table", CallRow.__table__)

_UPDATABLE = frozenset(
    {
        "status",
        "exotel_call_sid",
        "script",
        "recording_url",
        "recording_key",
        "recording_upload_pending",
        # re-dial bookkeeping (reference_app/db/_claims.py)
        "dial_started_at",
        "dial_attempts",
        "next_dial_at",
        "claimed_by",
        "claim_expires_at",
    }
)


class CallRepository:
    """Each public method is one transaction: all of it is written, or none of it."""

    def __init__(self, engine: AsyncEngine, breaker: CircuitBreaker, apm: ApmRegistry) -> None:
        self.engine = engine
        self.breaker = breaker
        #: Runs each operation (also the re-dial claims', reference_app/db/_claims.py).
        self._run = Transactions(engine, breaker, apm).run
        #: When expired idempotency keys and webhook delivery ids are next deleted.
        self.retention = Retention()

    async def create_tables(self) -> None:
        """Create missing tables (also done lazily by the first operation that succeeds)."""

        async def work(session: AsyncSession) -> None:
            connection = await session.connection()
            await connection.run_sync(Base.metadata.create_all)

        await self._run("create_tables", work)

    async def ping(self) -> None:
        async def work(session: AsyncSession) -> None:
            await session.execute(text("SELECT 1"))

        await self._run("ping", work)

    async def create(self, *, order_id: str, shop: str, phone: str) -> Call:
        async def work(session: AsyncSession) -> Call:
            row = CallRow(order_id=order_id, shop=shop, phone=phone)
            session.add(row)
            await session.flush()  # every column's default is made here: nothing to read back
            return Call.from_row(row)

        return await self._run("insert_call", work)

    async def create_once(
        self, claim: IdempotencyClaim, *, order_id: str, shop: str, phone: str
    ) -> Call | IdempotentReplay:
        """Store a new call and its idempotency key in one transaction, or, when the merchant
        used the key before (within IDEMPOTENCY_KEY_RETENTION), return what that first request
        recorded (nothing is written)."""
        now = utcnow()

        async def replay(session: AsyncSession) -> IdempotentReplay | None:
            record = await session.get(IdempotencyRow, (claim.merchant, claim.key))
            if record is None:
                return None
            if idempotency_expired(record.created_at, now):
                # Past its window the key names a new request (pruning may not have run yet).
                await session.delete(record)
                await session.flush()
                return None
            row = await session.get(CallRow, record.call_id)
            return IdempotentReplay(
                record.request_sha256,
                None if row is None else Call.from_row(row),
                record.response_status,
                record.created_at,
            )

        async def work(session: AsyncSession) -> Call | IdempotentReplay:
            await self.retention.prune_if_due(session, now)
            found = await replay(session)
            if found is not None:
                return found
            row = CallRow(order_id=order_id, shop=shop, phone=phone)
            try:
                # A savepoint: a concurrent first use of the key (PostgreSQL) loses the race
                # here and reads the winner's record instead of failing the transaction.
                async with session.begin_nested():
                    session.add(row)
                    await session.flush()
                    session.add(
                        IdempotencyRow(
                            created_at=now,
                            merchant=claim.merchant,
                            key=claim.key,
                            request_sha256=claim.request_sha256,
                            call_id=row.id,
                        )
                    )
                    await session.flush()
            except IntegrityError:
                found = await replay(session)
                if found is None:
                    raise
                return found
            return Call.from_row(row)

        return await self._run("insert_call", work)

    async def finish_idempotent(self, merchant: str, key: str, response_status: int) -> None:
        """Record the first answer's status for the merchant's key."""
        statement = (
            update(IdempotencyRow)
            .where(IdempotencyRow.merchant == merchant, IdempotencyRow.key == key)
            .values(response_status=response_status)
            .execution_options(synchronize_session=False)
        )

        async def work(session: AsyncSession) -> None:
            await session.execute(statement)

        await self._run("finish_idempotency", work)

    async def first_delivery(self, delivery_id: str) -> bool:
        """Record a webhook delivery id; False when it was recorded before (a replay) within
        the dedupe window (reference_app/db/_retention.py)."""

        now = utcnow()

        async def work(session: AsyncSession) -> bool:
            await self.retention.prune_if_due(session, now)
            seen = await session.get(WebhookDeliveryRow, delivery_id)
            if seen is not None:
                if not delivery_expired(seen.received_at, now):
                    return False
                seen.received_at = now  # past its window: a new delivery (not pruned yet)
                await session.flush()
                return True
            try:
                async with session.begin_nested():
                    session.add(WebhookDeliveryRow(id=delivery_id, received_at=now))
                    await session.flush()
            except IntegrityError:
                return False  # a concurrent delivery of the same id won
            return True

        return await self._run("record_delivery", work)

    async def get(self, call_id: str) -> Call | None:
        async def work(session: AsyncSession) -> Call | None:
            row = await session.get(CallRow, call_id)
            return None if row is None else Call.from_row(row)

        return await self._run("get_call", work)

    async def update(self, call_id: str, **fields: Any) -> Call | None:
        """Set ``fields`` on the call; returns it, or None when it does not exist."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"not updatable: {', '.join(sorted(unknown))}")
        if isinstance(fields.get("status"), CallStatus):
            fields["status"] = fields["status"].value

        # One UPDATE ... WHERE: no read-then-write window. RETURNING where the backend has it
        # (PostgreSQL, SQLite >= 3.35); otherwise the row is read back in the same transaction.
        # On the table, not the ORM entity: the ORM's bulk-update machinery (an identity map
        # to synchronise, entities to build from RETURNING) was a sixth of a request's CPU.
        calls = _CALLS
        statement = update(calls).where(calls.c.id == call_id).values(**fields, updated_at=utcnow())

        async def work(session: AsyncSession) -> Call | None:
            row: Any
            if self.engine.dialect.update_returning:
                result = await session.execute(statement.returning(*calls.c))
                row = result.one_or_none()
            elif cast("CursorResult[Any]", await session.execute(statement)).rowcount:
                row = await session.get(CallRow, call_id)
            else:
                row = None
            return None if row is None else Call.from_row(row)

        return await self._run("update_call", work)

    async def pending_uploads(self, limit: int = 50, *, max_attempts: int = 8) -> list[Call]:
        """Calls whose recording awaits archiving and is due: fewest failed attempts first,
        then newest, so rows that keep failing never starve newer ones (whose signed
        recording URLs expire); a row past ``max_attempts`` is left for an operator."""
        now = utcnow()
        attempts = func.coalesce(RecordingRetryRow.attempts, 0)
        statement = (
            select(CallRow)
            .outerjoin(RecordingRetryRow, RecordingRetryRow.call_id == CallRow.id)
            .where(
                CallRow.recording_upload_pending.is_(True),
                attempts < max_attempts,
                or_(
                    RecordingRetryRow.next_attempt_at.is_(None),
                    RecordingRetryRow.next_attempt_at <= now,
                ),
            )
            .order_by(attempts, CallRow.created_at.desc())
            .limit(limit)
        )

        async def work(session: AsyncSession) -> list[Call]:
            return [Call.from_row(r) for r in await session.scalars(statement)]

        return await self._run("pending_uploads", work)

    async def recording_failed(
        self, call_id: str, *, first_delay: float, attempts: int = 1, max_delay: float = 3600.0
    ) -> int:
        """Count ``attempts`` failed archiving attempts; the next is due after a delay doubling
        from ``first_delay`` with each attempt (at most ``max_delay``). Returns the total."""

        async def work(session: AsyncSession) -> int:
            row = await session.get(RecordingRetryRow, call_id)
            if row is None:
                row = RecordingRetryRow(call_id=call_id, attempts=0)
                session.add(row)
            row.attempts = (row.attempts or 0) + attempts
            delay = min(first_delay * 2 ** min(row.attempts - 1, 30), max_delay)
            row.next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
            await session.flush()
            return row.attempts

        return await self._run("recording_failed", work)
