"""The call flow: persist first, then order data, script, and the Exotel call; then what
Exotel's status callbacks report (their signing and statuses: _status_callbacks) and the
recordings they bring (archived by _recordings)."""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from reference_app._dialled_writes import DialledWrites
from reference_app._recordings import Recordings
from reference_app._redial_policy import not_dialled_fields
from reference_app._status_callbacks import CallbackSigner, moves_forward
from reference_app.config import REQUEST_BUDGET_SECONDS
from reference_app.db import (
    Call,
    CallRepository,
    CallStatus,
    DatabaseUnavailable,
    IdempotencyClaim,
    IdempotentReplay,
    utcnow,
)
from reference_app.providers import (
    ExotelClient,
    ExotelError,
    OpenAIClient,
    OpenAIError,
    OrderInfo,
    ShopifyClient,
    ShopifyError,
    WasabiClient,
    template_script,
)

__all__ = ["CallService", "PlacedCall"]

#: Stage caps inside the request budget (REQUEST_BUDGET_SECONDS, below common 30 s client
#: timeouts): order data and the script are optional (degraded answers exist), so they get
#: short caps; Exotel gets what is left, minus a reserve for the database writes.
ORDER_SECONDS = 5.0
SCRIPT_SECONDS = 8.0
_DB_RESERVE_SECONDS = 2.0


logger = logging.getLogger("reference_app.calls")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PlacedCall:
    call: Call
    #: True when Exotel accepted the call (201); False when it stays queued (202).
    initiated: bool


class CallService:
    """Never loses a call: the row is written (``queued``) before any provider is contacted.

    Degraded paths: Shopify down → cached order, else a generic script without order facts;
    OpenAI down → template script; Exotel down → the call stays ``queued`` (a retry worker or
    operator re-dials). Only the database being unavailable fails the request
    (:class:`~reference_app.db.DatabaseUnavailable`, answered 503 + Retry-After).
    """

    def __init__(
        self,
        repository: CallRepository,
        *,
        shopify: ShopifyClient,
        openai: OpenAIClient,
        exotel: ExotelClient,
        wasabi: WasabiClient,
        webhook_base_url: str,
        callback_key: bytes,
    ) -> None:
        self.repository = repository
        self._shopify = shopify
        self._openai = openai
        self._exotel = exotel
        self._signer = CallbackSigner(webhook_base_url, callback_key)
        self._recordings = Recordings(repository, exotel=exotel, wasabi=wasabi)
        self._writes = DialledWrites(repository)

    def status_callback_params(self, call_id: str) -> dict[str, str]:
        """``{"call_id", "exp", "sig"}``: the query that authenticates a status callback for our
        call until ``exp`` (Unix seconds, :data:`CALLBACK_SIGNATURE_SECONDS` from now).

        The one place callback signatures are made (the app, tests and chaos steps use it).
        """
        return self._signer.params(call_id)

    def status_callback_url(self, call_id: str) -> str:
        """The signed StatusCallback URL handed to Exotel when ``call_id`` is placed."""
        return self._signer.url(call_id)

    def verify_status_callback(self, call_id: str, sig: str, expires: str = "") -> bool:
        """Whether ``sig`` authenticates ``call_id`` until ``expires``, which has not passed
        (constant-time comparison)."""
        return self._signer.verify(call_id, sig, expires)

    async def place_call(
        self,
        *,
        order_id: str,
        shop: str,
        phone: str,
        claim: IdempotencyClaim | None = None,
    ) -> PlacedCall | IdempotentReplay:
        """Store, then dial. With ``claim`` (an Idempotency-Key) a key used before returns what
        its first request recorded, and nothing is dialled."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REQUEST_BUDGET_SECONDS
        if claim is None:
            call = await self.repository.create(order_id=order_id, shop=shop, phone=phone)
        else:
            created = await self.repository.create_once(
                claim, order_id=order_id, shop=shop, phone=phone
            )
            if isinstance(created, IdempotentReplay):
                return created
            call = created
        placed = await self._dial(call, deadline)
        if claim is not None:
            try:
                await self.repository.finish_idempotent(
                    claim.merchant, claim.key, 201 if placed.initiated else 202
                )
            except DatabaseUnavailable:  # a replay then answers from the call's state
                logger.warning("call %s: could not record its idempotent answer", call.id)
        return placed

    async def _dial(self, call: Call, deadline: float) -> PlacedCall:
        loop = asyncio.get_running_loop()
        order = await self._capped(self._order(call.shop, call.order_id), ORDER_SECONDS, None)
        script = await self._capped(
            self._script(order), SCRIPT_SECONDS, template_script(order), "script"
        )
        remaining = max(1.0, deadline - loop.time() - _DB_RESERVE_SECONDS)
        try:
            async with asyncio.timeout(remaining):
                placed = await self._exotel.connect_call(
                    customer_phone=call.phone, status_callback=self.status_callback_url(call.id)
                )
        except (ExotelError, TimeoutError) as exc:
            # A timeout may come after Exotel dialled: the signed status callback then attaches
            # the CallSid to this row (status_callback), so the call is not re-dialled blindly.
            logger.warning("call %s stays queued: %s", call.id, exc or "request budget spent")
            # Known not to have reached Exotel: hand it to the re-dial worker (docs/redial.md).
            retry = not_dialled_fields(
                exc, attempts=0, open_timeout=self._exotel.breaker.open_timeout, now=utcnow()
            )
            return PlacedCall(await self._save(call, script=script, **retry), initiated=False)
        fields: dict[str, object] = {
            "script": script,
            "status": CallStatus.INITIATED,
            "exotel_call_sid": placed.sid,
        }
        saved = await self._save(call, **fields)
        if saved.exotel_call_sid != placed.sid:
            # Exotel dialled but the row could not say so: report the truth (201 with the
            # CallSid) and keep writing it in the background; never "queued", which invites a
            # second dial.
            self._writes.keep_writing(call.id, fields)
            saved = dataclasses.replace(
                call, script=script, status=CallStatus.INITIATED, exotel_call_sid=placed.sid
            )
        return PlacedCall(saved, initiated=True)

    @property
    def exotel(self) -> ExotelClient:
        return self._exotel

    async def redial(self, call: Call, seconds: float) -> str:
        """Dial a stored queued call again (the re-dial worker); returns Exotel's CallSid.

        Raises :class:`~reference_app.providers.ExotelError` or :class:`TimeoutError`.
        """
        async with asyncio.timeout(seconds):
            placed = await self._exotel.connect_call(
                customer_phone=call.phone, status_callback=self.status_callback_url(call.id)
            )
        return placed.sid

    async def record_redialled(self, call_id: str, sid: str) -> None:
        """Store a re-dialled call's CallSid (before its claim is released); if the database
        refuses, keep writing in the background: the row stays "dial started", never re-dialled.
        """
        fields: dict[str, object] = {
            "status": CallStatus.INITIATED,
            "exotel_call_sid": sid,
            "claimed_by": None,
            "claim_expires_at": None,
        }
        try:
            await self._writes.write(call_id, fields)
        except DatabaseUnavailable:
            self._writes.keep_writing(call_id, fields)

    @property
    def pending_writes(self) -> int:
        """Dialled calls whose state is still being written (background retries)."""
        return self._writes.pending

    def cancel_pending_writes(self) -> None:
        """Forget every background write (the test harness's reset)."""
        self._writes.cancel()

    async def flush_pending_writes(self) -> None:
        """Shutdown: stop the background retries and try each pending write once, now."""
        await self._writes.flush()

    async def _save(self, call: Call, **fields: object) -> Call:
        # The call row already exists (queued): losing this update must not turn an accepted
        # call into a 503 that the client would retry (a duplicate call). Report what is stored.
        try:
            return await self.repository.update(call.id, **fields) or call
        except DatabaseUnavailable:
            logger.exception("call %s: could not record %s", call.id, ", ".join(fields))
            return call

    @staticmethod
    async def _capped(work: Awaitable[T], seconds: float, fallback: T, what: str = "order") -> T:
        try:
            async with asyncio.timeout(seconds):
                return await work
        except TimeoutError:
            logger.warning("%s took longer than %.0f s: degraded answer", what, seconds)
            return fallback

    async def _order(self, shop: str, order_id: str) -> OrderInfo | None:
        try:
            return await self._shopify.get_order(shop, order_id)
        except ShopifyError as exc:
            logger.warning("no order data for the call (%s); using a generic script", exc)
            return None

    async def _script(self, order: OrderInfo | None) -> str:
        try:
            return await self._openai.write_script(order)
        except OpenAIError as exc:
            logger.warning("script from template: %s", exc)
            return template_script(order)

    async def status_callback(
        self, call_id: str, sid: str, status: CallStatus, recording_url: str | None
    ) -> Call | None:
        """Apply an authenticated Exotel status callback for our call ``call_id``.

        Returns None for an unknown call, or when the row's CallSid differs from ``sid`` (a
        callback for another Exotel call must not change this one).
        """
        call = await self.repository.get(call_id)
        if call is None:
            return None
        if call.exotel_call_sid is not None and not hmac.compare_digest(
            call.exotel_call_sid.encode(), sid.encode("utf-8", "replace")
        ):
            return None
        fields: dict[str, object] = {}
        if call.exotel_call_sid is None and sid:
            # The URL was signed for this call alone, so its CallSid is this call's: this
            # repairs a dial whose CallSid could not be stored.
            fields["exotel_call_sid"] = sid
        if moves_forward(call.status, status):  # monotonic: never back from completed
            fields["status"] = status
        if recording_url and recording_url != call.recording_url:
            # Metadata first, so the recording is never forgotten even if the upload fails.
            fields.update(recording_url=recording_url, recording_upload_pending=True)
        if not fields:
            return call
        call = await self.repository.update(call.id, **fields)
        if call is None or "recording_url" not in fields:
            return call
        return await self.archive_recording(call)

    async def archive_recording(self, call: Call) -> Call:
        """Copy the call's recording from Exotel into Wasabi; on failure it stays pending."""
        return await self._recordings.archive(call)

    async def retry_pending_uploads(self, limit: int = 50) -> int:
        """Retry archiving pending recordings; returns how many are now stored.

        Skipped while the Wasabi breaker is open: every attempt would be rejected anyway.
        """
        return await self._recordings.retry_pending(limit)

    def recording_download_url(self, call: Call) -> str | None:
        return self._recordings.download_url(call)
