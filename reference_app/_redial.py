"""The re-dial worker: queued calls are dialled once the Exotel breaker allows it.

One background task per instance (started by the lifespan) wakes every ``poll`` real seconds
and runs a round when one is due by ``time.monotonic()`` -- the breaker clock, so a test's
``clock.advance`` makes rounds due without real waiting. Which calls a round dials, and that each
is dialled at most once across every instance sharing the database, is decided by the rows
(:class:`~reference_app.db.RedialClaims`, docs/redial.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reference_app._redial_policy import REDIAL_MAX_ATTEMPTS, not_dialled_fields
from reference_app.db import DatabaseUnavailable, RedialClaims, utcnow
from reference_app.providers import ExotelError
from reference_app.resilience import State

if TYPE_CHECKING:
    from reference_app._calls import CallService
    from reference_app.db import Call

__all__ = ["REDIAL_BATCH", "REDIAL_DIAL_SECONDS", "RedialRound", "RedialWorker"]

logger = logging.getLogger("reference_app.redial")

#: Calls one round leases at most; the lease covers dialling all of them one by one.
REDIAL_BATCH = 20
#: One dial's cap (the provider client's own timeouts are shorter).
REDIAL_DIAL_SECONDS = 15.0
_LEASE_SECONDS = REDIAL_BATCH * REDIAL_DIAL_SECONDS + 60.0


@dataclass(frozen=True, slots=True)
class RedialRound:
    """What one round did: calls leased, dialled, handed back for later, given up (status
    ``failed``), and left "in doubt" (the dial may have reached Exotel: never re-dialled)."""

    claimed: int = 0
    dialled: int = 0
    retried: int = 0
    gave_up: int = 0
    in_doubt: int = 0


class RedialWorker:
    """Re-dials queued calls for one instance (``instance`` names its claims)."""

    def __init__(self, calls: CallService, instance: str) -> None:
        self._calls = calls
        self._claims = RedialClaims(calls.repository)
        self.instance = instance
        self._breaker = calls.exotel.breaker
        # The first round a full round after start, as after reset(): never racing the first
        # requests (the worker checks every poll; it does not need to run at once).
        self._next_round = time.monotonic() + self.round_seconds
        self._lock = asyncio.Lock()
        self._generation = 0
        self._stopping = threading.Event()

    async def reset(self) -> None:
        """Stop a round in progress before its next dial, wait for it, and start the round
        timing afresh (the only state not in the database): the next round is a full round
        away, so none begins while the rest of a reset runs. For the shared test app's reset."""
        self._generation += 1
        async with self._lock:
            self._next_round = time.monotonic() + self.round_seconds

    @property
    def round_seconds(self) -> float:
        """Breaker-clock seconds between rounds: a sixth of Exotel's open timeout (10 s)."""
        return self._breaker.open_timeout / 6

    def round_due(self) -> bool:
        """A round is due when its time has come and the Exotel breaker lets calls through.

        When the clock went back (a test clock stopped), the next round is re-anchored a full
        round from now, as after :meth:`reset`, and none is due yet."""
        now = time.monotonic()
        wait = self._next_round - now
        if wait > self.round_seconds:
            # Run at once, such a round would race whatever the caller does next (its database
            # work, a success, can end a breaker's failure streak a test is counting).
            self._next_round = now + self.round_seconds
            return False
        # Never a half-open database probe: those belong to request traffic.
        return wait <= 0 and self._breaker.state is not State.OPEN and self._database_closed()

    def _database_closed(self) -> bool:
        return self._calls.repository.breaker.state is State.CLOSED

    def stop(self) -> None:
        """Wake :meth:`run`'s sleeping thread and end the loop (shutdown): the event loop's
        close joins that thread, which would otherwise finish its sleep first."""
        self._stopping.set()

    async def run(self, poll: float = 1.0) -> None:
        """The background loop: wake every ``poll`` real seconds, run a round when due."""
        while not self._stopping.is_set():
            # Waited in a thread, not on the loop's timers: a timer is placed by loop.time()
            # when scheduled, and a frozen test clock started around the app's startup can make
            # that the frozen time (the timer would then never fire). A thread's wait is never
            # frozen, and stop() ends it at once.
            if await asyncio.to_thread(self._stopping.wait, min(poll, self.round_seconds)):
                return

            if not self.round_due():
                continue
            self._next_round = time.monotonic() + self.round_seconds
            try:
                await self.redial_once()
            except DatabaseUnavailable as exc:  # the next round retries
                logger.warning("re-dial round skipped: %s", exc)
            except Exception:
                logger.exception("re-dial round failed")

    async def redial_once(self) -> RedialRound:
        """One round: lease the due queued calls and dial them one by one, oldest first.

        Tests await this through the client's portal to see exactly one round. Raises
        :class:`~reference_app.db.DatabaseUnavailable` when the calls cannot be leased.
        """
        async with self._lock:  # the loop and a test's round never interleave in one instance
            if self._breaker.state is State.OPEN or not self._database_closed():
                return RedialRound()
            generation = self._generation
            claimed = await self._claims.claim(
                self.instance,
                now=utcnow(),
                lease=_LEASE_SECONDS,
                limit=REDIAL_BATCH,
                max_attempts=REDIAL_MAX_ATTEMPTS,
            )
            counts = dict.fromkeys(("dialled", "retried", "gave_up", "in_doubt"), 0)
            try:
                for call, attempts in claimed:
                    if generation != self._generation:  # reset: dial nothing more
                        break
                    outcome = await self._dial(call, attempts)
                    if outcome == "stop":  # the breaker refused: the rest wait for later
                        counts["retried"] += 1
                        break
                    if outcome in counts:
                        counts[outcome] += 1
            finally:
                # Leases not started go back at once (started rows are never matched).
                with contextlib.suppress(DatabaseUnavailable):
                    await self._claims.unclaim([c.id for c, _ in claimed], self.instance)
            return RedialRound(claimed=len(claimed), **counts)

    async def _dial(self, call: Call, attempts: int) -> str:
        if not await self._claims.start(call.id, self.instance, now=utcnow()):
            return "skipped"  # the lease ran out and another instance took the call
        try:
            sid = await self._calls.redial(call, REDIAL_DIAL_SECONDS)
        except (ExotelError, TimeoutError) as exc:
            return await self._failed(call, attempts, exc)
        await self._calls.record_redialled(call.id, sid)
        logger.info("queued call %s dialled (%s)", call.id, sid)
        return "dialled"

    async def _failed(self, call: Call, attempts: int, exc: BaseException) -> str:
        now = utcnow()
        fields = not_dialled_fields(
            exc, attempts=attempts, open_timeout=self._breaker.open_timeout, now=now
        )
        if not fields:
            logger.error(
                "call %s: the re-dial may have reached Exotel (%s); kept for its status "
                "callback, never dialled again",
                call.id,
                exc or "timed out",
            )
            return "in_doubt"
        counted = int(str(fields["dial_attempts"]))
        give_up = counted >= REDIAL_MAX_ATTEMPTS
        next_at = fields["next_dial_at"]
        assert isinstance(next_at, dt.datetime)
        if getattr(exc, "circuit_open", False):
            # Refused by our own breaker (another dial holds the half-open probe): no back-off;
            # rounds only run while the breaker lets calls through.
            next_at = now
        await self._claims.release(call.id, attempts=counted, next_dial_at=next_at, give_up=give_up)
        if give_up:
            logger.error("call %s: not dialled after %d attempts; marked failed", call.id, counted)
            return "gave_up"
        if getattr(exc, "circuit_open", False):
            return "stop"
        return "retried"
