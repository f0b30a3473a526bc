"""How one repository operation runs: one transaction, behind the ``database`` breaker, timed.

Every operation of :class:`~reference_app.db.CallRepository` and of the re-dial claims goes
through :meth:`Transactions.run`: the breaker decides whether it may touch the database, APM
times it (error or not), the tables are created on first use, and any failure reaches the
caller as :class:`~reference_app.db.DatabaseUnavailable` (the app answers 503 + Retry-After).
An operation queued behind one that just failed on the database gives up without trying
(:class:`FailedWhileQueued`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from reference_app.resilience import CircuitOpenError, State

from ._errors import UNAVAILABLE, DatabaseUnavailable, FailedWhileQueued, reason
from ._models import Base

if TYPE_CHECKING:
    from reference_app.observability import ApmRegistry
    from reference_app.resilience import CircuitBreaker

__all__ = ["Transactions"]

T = TypeVar("T")

#: How long after an operation failed on the database the operations queued behind it give up
#: without trying: about two busy timeouts (reference_app/db/_url.py).
FAILURE_IS_CURRENT_SECONDS = 1.0

logger = logging.getLogger("reference_app.db")


class Transactions:
    """Runs a repository's operations, each as one transaction on ``engine``."""

    def __init__(self, engine: AsyncEngine, breaker: CircuitBreaker, apm: ApmRegistry) -> None:
        self.engine = engine
        self.breaker = breaker
        self._apm = apm
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._schema_ready = False
        #: Operations that failed on the database itself, so far, and when the last one did
        #: (``time.monotonic``; see FailedWhileQueued).
        self._failures_seen = 0
        self._failed_at = 0.0

    async def run(self, operation: str, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
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
