"""Call persistence behind the ``database`` breaker, every operation timed by APM."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar, cast

from sqlalchemy import Table, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reference_app.resilience import CircuitOpenError, State

from ._errors import UNAVAILABLE, DatabaseUnavailable, FailedWhileQueued, reason
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

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

    from reference_app.observability import ApmRegistry
    from reference_app.resilience import CircuitBreaker

__all__ = ["CallRepository"]

T = TypeVar("T")

#: How long after an operation failed on the database the operations queued behind it give up
#: without trying: about two busy timeouts (reference_app/db/_url.py).
FAILURE_IS_CURRENT_SECONDS = 1.0

logger = logging.getLogger("reference_app.db")

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
        self._apm = apm
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._schema_ready = False
        #: When expired idempotency keys and webhook delivery ids are next deleted.
        self.retention = Retention()
        #: Operations that failed on the database itself, so far, and when the last one did
        #: (``time.monotonic``; see FailedWhileQueued).
        self._failures_seen = 0
        self._failed_at = 0.0

    async def _run(self, operation: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async def attempt() -> T:
            error = True
            start = time.perf_counter()
            queued_at = self._failures_seen
            try:
                # The connection first (the pool queue), then the transaction on it, so that an
                # operation queued while the one ahead of it failed gives up before it begins.
                async with self.engine.connect() as connection:
                    if self._failures_seen != queued_at and self._failure_is_current():
                        raise FailedWhileQueued(operation)
                    try:
                        async with self._sessions(bind=connection) as session, session.begin():
                            if not self._schema_ready:
                                # Startup may have met a dead database: create tables on first use
                                # (through the session, whose transaction commits them).
                                joined = await session.connection()
                                await joined.run_sync(Base.metadata.create_all)
                            result = await work(session)
                    except UNAVAILABLE:
                        # Before the connection goes back to the pool: the queue sees it.
                        self._failures_seen += 1
                        self._failed_at = time.monotonic()
                        raise
                self._schema_ready = True
                error = False
                return result
            finally:
                self._apm.record_db(operation, time.perf_counter() - start, error=error)

        try:
            return await self.breaker.acall(attempt)
        except CircuitOpenError as exc:
            raise DatabaseUnavailable(max(1.0, exc.retry_after), "breaker open") from exc
        except Exception as exc:
            unavailable = DatabaseUnavailable(self._retry_after(), reason(exc))
            logger.warning("database %s failed: %s", operation, unavailable.reason)
            raise unavailable from exc

    def _failure_is_current(self) -> bool:
        # Only a fresh failure speaks for the database now: an operation that queued long ago
        # (or across a clock.advance in tests) tries for itself, or it could fail a database
        # that has come back -- as a failed probe, re-opening a half-open breaker.
        return time.monotonic() - self._failed_at <= FAILURE_IS_CURRENT_SECONDS

    def _retry_after(self) -> float:
        metrics = self.breaker.metrics()
        if metrics.state is State.OPEN and metrics.next_probe_in is not None:
            return max(1.0, metrics.next_probe_in)
        return 1.0

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
