"""Claims on queued calls for re-dialling, safe with several instances on one database.

Each step is one guarded ``UPDATE``; the row's own columns decide who may dial it, so the
guarantee does not depend on the instances' clocks agreeing (docs/redial.md):

1. :meth:`RedialClaims.claim` leases eligible rows to one instance (``FOR UPDATE SKIP LOCKED``
   on PostgreSQL; SQLite serialises writers, and the same ``WHERE`` re-checks eligibility).
2. :meth:`RedialClaims.start` marks one leased row "dial started" just before Exotel is called;
   it succeeds only while this instance still holds an unexpired lease. A lease that expires
   before this mark lets another instance claim the row (nothing was dialled); once marked, no
   claim ever matches the row again.
3. :meth:`RedialClaims.release` un-marks a row only when its dial is known not to have reached
   Exotel; a dialled row gets its CallSid (``CallRepository.update``) instead.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import ColumnElement, and_, or_, select, update

from ._models import CallRow, CallStatus
from ._records import Call

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult
    from sqlalchemy.ext.asyncio import AsyncSession

    from ._repository import CallRepository

__all__ = ["RedialClaims"]


def _eligible(now: dt.datetime, max_attempts: int) -> ColumnElement[bool]:
    return and_(
        CallRow.status == CallStatus.QUEUED.value,
        CallRow.exotel_call_sid.is_(None),
        CallRow.dial_started_at.is_(None),
        CallRow.dial_attempts < max_attempts,
        CallRow.next_dial_at.is_not(None),
        CallRow.next_dial_at <= now,
        or_(CallRow.claimed_by.is_(None), CallRow.claim_expires_at <= now),
    )


class RedialClaims:
    """The claim protocol over a :class:`~reference_app.db.CallRepository` (its breaker, APM)."""

    def __init__(self, repository: CallRepository) -> None:
        self._repository = repository

    async def claim(
        self, instance: str, *, now: dt.datetime, lease: float, limit: int, max_attempts: int
    ) -> list[tuple[Call, int]]:
        """Lease up to ``limit`` due queued calls to ``instance`` (oldest first), each with its
        count of failed dials."""
        expires = now + dt.timedelta(seconds=lease)
        eligible = _eligible(now, max_attempts)
        due = (
            select(CallRow.id)
            .where(eligible)
            .order_by(CallRow.created_at, CallRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)  # PostgreSQL; rendered as nothing on SQLite
        )
        statement = (
            update(CallRow)
            .where(CallRow.id.in_(due), eligible)
            .values(claimed_by=instance, claim_expires_at=expires)
            .execution_options(synchronize_session=False)
        )
        mine = and_(CallRow.claimed_by == instance, CallRow.claim_expires_at == expires)

        async def work(session: AsyncSession) -> list[tuple[Call, int]]:
            if self._repository.engine.dialect.update_returning:
                rows = (await session.scalars(statement.returning(CallRow))).all()
            else:  # pragma: no cover - SQLite < 3.35
                await session.execute(statement)
                rows = (await session.scalars(select(CallRow).where(mine))).all()
            ordered = sorted(rows, key=lambda r: (r.created_at, r.id))
            return [(Call.from_row(r), r.dial_attempts) for r in ordered]

        return await self._repository._run("claim_redial", work)

    async def start(self, call_id: str, instance: str, *, now: dt.datetime) -> bool:
        """Mark the call "dial started" if ``instance`` still holds its lease; True if it did."""
        statement = (
            update(CallRow)
            .where(
                CallRow.id == call_id,
                CallRow.claimed_by == instance,
                CallRow.claim_expires_at > now,
                CallRow.dial_started_at.is_(None),
                CallRow.status == CallStatus.QUEUED.value,
                CallRow.exotel_call_sid.is_(None),
            )
            .values(dial_started_at=now)
            .execution_options(synchronize_session=False)
        )

        async def work(session: AsyncSession) -> bool:
            result = cast("CursorResult[Any]", await session.execute(statement))
            return bool(result.rowcount == 1)

        return await self._repository._run("start_redial", work)

    async def release(
        self, call_id: str, *, attempts: int, next_dial_at: dt.datetime | None, give_up: bool
    ) -> None:
        """The dial did not reach Exotel: back to queued, due at ``next_dial_at`` (or failed)."""
        values: dict[str, Any] = {
            "dial_started_at": None,
            "claimed_by": None,
            "claim_expires_at": None,
            "dial_attempts": attempts,
            "next_dial_at": next_dial_at,
        }
        if give_up:
            values["status"] = CallStatus.FAILED.value
        statement = (
            update(CallRow)
            .where(
                CallRow.id == call_id,
                CallRow.status == CallStatus.QUEUED.value,
                CallRow.exotel_call_sid.is_(None),
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )

        async def work(session: AsyncSession) -> None:
            await session.execute(statement)

        await self._repository._run("release_redial", work)

    async def unclaim(self, call_ids: list[str], instance: str) -> None:
        """Give back leases not yet started (the round stopped early)."""
        if not call_ids:
            return
        statement = (
            update(CallRow)
            .where(
                CallRow.id.in_(call_ids),
                CallRow.claimed_by == instance,
                CallRow.dial_started_at.is_(None),
            )
            .values(claimed_by=None, claim_expires_at=None)
            .execution_options(synchronize_session=False)
        )

        async def work(session: AsyncSession) -> None:
            await session.execute(statement)

        await self._repository._run("unclaim_redial", work)

    async def in_doubt(self, *, now: dt.datetime, older_than: float) -> list[Call]:
        """Queued calls whose dial started over ``older_than`` seconds ago and has no CallSid:
        the dial may have reached Exotel, so they are never re-dialled automatically."""
        cutoff = now - dt.timedelta(seconds=older_than)
        query = select(CallRow).where(
            CallRow.status == CallStatus.QUEUED.value,
            CallRow.exotel_call_sid.is_(None),
            CallRow.dial_started_at.is_not(None),
            CallRow.dial_started_at <= cutoff,
        )

        async def work(session: AsyncSession) -> list[Call]:
            return [Call.from_row(r) for r in await session.scalars(query)]

        return await self._repository._run("redial_in_doubt", work)
