"""Dialled calls whose database write failed: their CallSid is written in the background.

Exotel accepted the call, so it must never be stored (or reported) as undialled: that invites a
second dial. The write is retried with back-off (0.5 s doubling to 30 s) until it lands, a
status callback attaches the CallSid first, or the app shuts down (one last attempt).
"""

from __future__ import annotations

import asyncio
import logging

from reference_app.db import CallRepository, DatabaseUnavailable

__all__ = ["DialledWrites"]

logger = logging.getLogger("reference_app.calls")

#: Background attempts to store a dialled call's CallSid.
_WRITE_ATTEMPTS = 30


class DialledWrites:
    def __init__(self, repository: CallRepository) -> None:
        self.repository = repository
        self._pending: dict[str, tuple[asyncio.Task[None], dict[str, object]]] = {}

    @property
    def pending(self) -> int:
        return len(self._pending)

    def keep_writing(self, call_id: str, fields: dict[str, object]) -> None:
        task = asyncio.get_running_loop().create_task(
            self._until_stored(call_id, fields), name=f"reference_app.save_call.{call_id}"
        )
        self._pending[call_id] = (task, fields)
        task.add_done_callback(lambda _: self._pending.pop(call_id, None))

    async def write(self, call_id: str, fields: dict[str, object]) -> None:
        """Store ``fields`` unless the row is gone or already has its CallSid."""
        current = await self.repository.get(call_id)
        if current is not None and current.exotel_call_sid is None:
            # else gone, or a status callback already attached the CallSid
            await self.repository.update(call_id, **fields)

    async def _until_stored(self, call_id: str, fields: dict[str, object]) -> None:
        delay = 0.5
        for _ in range(_WRITE_ATTEMPTS):
            await asyncio.sleep(delay)
            try:
                await self.write(call_id, fields)
            except DatabaseUnavailable:
                delay = min(delay * 2, 30.0)
            else:
                logger.info("call %s: dialled state stored after a retry", call_id)
                return
        logger.error("call %s was dialled but could not be recorded", call_id)

    def cancel(self) -> None:
        for task, _fields in list(self._pending.values()):
            task.cancel()
        self._pending.clear()

    async def flush(self) -> None:
        pending = list(self._pending.items())
        for _call_id, (task, _fields) in pending:
            task.cancel()
        for call_id, (_task, fields) in pending:
            try:
                await self.write(call_id, fields)
            except DatabaseUnavailable:
                logger.error("call %s was dialled but could not be recorded", call_id)
