"""Call recordings copied from Exotel into Wasabi: a failed copy stays pending and is retried
with back-off, until it is stored or given up for an operator."""

from __future__ import annotations

import logging

from reference_app.db import Call, CallRepository, DatabaseUnavailable
from reference_app.providers import ExotelClient, ExotelError, WasabiClient, WasabiError
from reference_app.resilience import State

__all__ = ["RECORDING_MAX_ATTEMPTS", "RECORDING_RETRY_SECONDS", "Recordings"]

#: Attempts to archive a recording before it is left for an operator; the delay between them
#: doubles from RECORDING_RETRY_SECONDS (capped at an hour).
RECORDING_MAX_ATTEMPTS = 8
RECORDING_RETRY_SECONDS = 60.0

# The call flow's logger: a recording's fate is part of its call's story.
logger = logging.getLogger("reference_app.calls")


class Recordings:
    def __init__(
        self, repository: CallRepository, *, exotel: ExotelClient, wasabi: WasabiClient
    ) -> None:
        self.repository = repository
        self._exotel = exotel
        self._wasabi = wasabi

    async def archive(self, call: Call) -> Call:
        """Copy the call's recording from Exotel into Wasabi; on failure it stays pending."""
        if not call.recording_url:
            return call
        key = f"recordings/{call.shop}/{call.id}.mp3"
        try:
            audio = await self._exotel.download_recording(call.recording_url)
            await self._wasabi.put_object(key, audio, "audio/mpeg")
        except (ExotelError, WasabiError) as exc:
            # A refused URL (not an allowed recording host) never becomes downloadable:
            # counted as every attempt at once. Anything else backs off and is retried.
            permanent = isinstance(exc, ExotelError) and exc.status_code == 400
            try:
                attempts = await self.repository.recording_failed(
                    call.id,
                    first_delay=RECORDING_RETRY_SECONDS,
                    attempts=RECORDING_MAX_ATTEMPTS if permanent else 1,
                )
            except DatabaseUnavailable:
                attempts = 0
            if attempts >= RECORDING_MAX_ATTEMPTS:
                logger.error("recording of call %s not archived; gave up: %s", call.id, exc)
            else:
                logger.warning("recording of call %s kept for retry: %s", call.id, exc)
            return call
        updated = await self.repository.update(
            call.id, recording_key=key, recording_upload_pending=False
        )
        return updated or call

    async def retry_pending(self, limit: int = 50) -> int:
        """Retry archiving pending recordings; returns how many are now stored.

        Skipped while the Wasabi breaker is open: every attempt would be rejected anyway.
        """
        if self._wasabi.breaker.state is State.OPEN:
            return 0
        done = 0
        due = await self.repository.pending_uploads(limit, max_attempts=RECORDING_MAX_ATTEMPTS)
        for call in due:
            if not (await self.archive(call)).recording_upload_pending:
                done += 1
        return done

    def download_url(self, call: Call) -> str | None:
        if call.recording_key is None:
            return None
        return self._wasabi.presigned_get_url(call.recording_key)
