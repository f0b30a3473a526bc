"""How long idempotency keys and webhook delivery ids are kept, and their pruning.

Both tables grow with traffic; a key or id only matters while a retry of its request can still
arrive. Pruning is a cheap step taken by a write that is happening anyway (at most once per
:data:`PRUNE_INTERVAL`), on the app's clock (``datetime.now``), so no task of its own runs and a
test moves through the windows with ``clock.advance``. Lookups ignore expired rows too, so the
windows hold whether or not a prune has run yet.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import delete

from ._models import IdempotencyRow, WebhookDeliveryRow

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

__all__ = [
    "IDEMPOTENCY_KEY_RETENTION",
    "PRUNE_INTERVAL",
    "WEBHOOK_DELIVERY_RETENTION",
    "Retention",
    "delivery_expired",
    "idempotency_expired",
]

#: An ``Idempotency-Key`` answers its retries for a day (as Stripe's do); used again later it
#: names a new request.
IDEMPOTENCY_KEY_RETENTION = dt.timedelta(hours=24)
#: Shopify retries a failed webhook delivery for up to 48 hours; its id is remembered longer, and
#: an order webhook whose signed ``created_at`` is older than this is refused as a replay.
WEBHOOK_DELIVERY_RETENTION = dt.timedelta(hours=72)
#: The most often expired rows are deleted.
PRUNE_INTERVAL = dt.timedelta(minutes=10)


class Retention:
    """When the next prune is due (per repository), and the prune itself."""

    def __init__(self) -> None:
        self._last: dt.datetime | None = None

    def reset(self) -> None:
        """Forget the last prune: the next write prunes (for the shared test app's reset)."""
        self._last = None

    def due(self, now: dt.datetime) -> bool:
        # A clock that went back (a test clock restarted) makes it due as well.
        return self._last is None or not self._last <= now < self._last + PRUNE_INTERVAL

    async def prune(self, session: AsyncSession, now: dt.datetime) -> None:
        """Delete expired keys and delivery ids in ``session``'s transaction."""
        keys_before = now - IDEMPOTENCY_KEY_RETENTION
        await session.execute(delete(IdempotencyRow).where(IdempotencyRow.created_at < keys_before))
        await session.execute(
            delete(WebhookDeliveryRow).where(
                WebhookDeliveryRow.received_at < now - WEBHOOK_DELIVERY_RETENTION
            )
        )
        self._last = now

    async def prune_if_due(self, session: AsyncSession, now: dt.datetime) -> None:
        if self.due(now):
            await self.prune(session, now)


def idempotency_expired(created_at: dt.datetime, now: dt.datetime) -> bool:
    return created_at < now - IDEMPOTENCY_KEY_RETENTION


def delivery_expired(received_at: dt.datetime, now: dt.datetime) -> bool:
    return received_at < now - WEBHOOK_DELIVERY_RETENTION
