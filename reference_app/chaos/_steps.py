"""Steps and data checks that know the reference app's API (the engine itself does not)."""

from __future__ import annotations

import contextlib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select

from pytest_hardening.chaos import ChaosContext, Check, DataLossCheck, Req, Send, Served
from reference_app import fakes
from reference_app.db import CallRow

SHOP = "chaos-demo.myshopify.com"
CALLS = "/api/calls"
CALLBACK = "/api/webhooks/exotel/status-callback"


def _new_call(ctx: ChaosContext, i: int) -> Req:
    n = ctx.scratch["calls"] = ctx.scratch.get("calls", 0) + 1
    phone = f"+9198{ctx.rng.randrange(10**8):08d}"
    return Req("POST", CALLS, {"order_id": f"chaos-{ctx.seed}-{n}", "shop": SHOP, "phone": phone})


def place_calls(
    count: int = 1, *, expect: int | Collection[int] = (201,), every: float = 0.0
) -> Send:
    """``count`` × ``POST /api/calls`` with fresh order ids (``every`` virtual seconds apart)."""
    return Send(_new_call, count=count, expect=expect, every=every, label="POST /api/calls")


def health_is(status: str) -> Check:
    """``GET /api/monitoring/health`` reports ``status`` (healthy / degraded / unhealthy);
    unhealthy is served as 503 so load balancers take the instance out, the others as 200."""
    code = 503 if status == "unhealthy" else 200

    def probe(ctx: ChaosContext) -> str | None:
        response = ctx.send("GET", "/api/monitoring/health")
        actual = response.json().get("status")
        if actual == status and response.status_code == code:
            return None
        return f"status is {actual!r} (HTTP {response.status_code}, expected {code})"

    return Check(f"health is {status!r}", probe)


def _accepted(ctx: ChaosContext) -> list[Served]:
    return [
        s
        for s in ctx.served
        if s.method == "POST" and s.path == CALLS and s.response.status_code in (201, 202)
    ]


def _sids(ctx: ChaosContext) -> list[str]:
    return [
        str(s.response.json()["exotel_call_sid"])
        for s in _accepted(ctx)
        if s.response.status_code == 201
    ]


def _call_ids(ctx: ChaosContext) -> dict[str, str]:
    """Exotel CallSid → our call id, for the initiated calls."""
    return {
        str(s.response.json()["exotel_call_sid"]): str(s.response.json()["id"])
        for s in _accepted(ctx)
        if s.response.status_code == 201
    }


def status_callbacks(count: int, *, expect: int | Collection[int] = 200) -> Send:
    """Exotel reports ``count`` completed calls with a recording each (a fresh URL per call),
    for calls that were initiated earlier in the scenario (oldest without a callback first)."""

    def make(ctx: ChaosContext, i: int) -> Req:
        done = ctx.scratch.setdefault("callbacks", [])
        pending = [sid for sid in _sids(ctx) if sid not in done]
        if not pending:
            raise LookupError("no initiated call left to send a status callback for")
        sid = pending[0]
        done.append(sid)
        call_id = _call_ids(ctx)[sid]
        # Signed like the StatusCallback URL the app handed Exotel for that call.
        query = urlencode(ctx.app.state.services.calls.status_callback_params(call_id))
        url = f"https://api.exotel.com/v1/Accounts/acme1/Recordings/{sid}.mp3"
        body = {"CallSid": sid, "Status": "completed", "RecordingUrl": url}
        return Req("POST", f"{CALLBACK}?{query}", body)

    return Send(make, count=count, expect=expect, label="POST status-callback")


def _portal(ctx: ChaosContext) -> Any:
    return ctx.client.portal  # type: ignore[attr-defined]  # starlette's TestClient


@dataclass(frozen=True)
class DatabaseOutage:
    """Every database statement fails from now on (SQLAlchemy event hook on the app's engine)."""

    def run(self, ctx: ChaosContext) -> None:
        stack = contextlib.ExitStack()
        stack.enter_context(fakes.database_outage(ctx.app.state.services.engine))
        ctx.scratch["database_outage"] = stack
        ctx.timeline.fault(ctx.now(), "database", "outage")


@dataclass(frozen=True)
class DatabaseRestored:
    """The database answers again (no-op when it was not down: safe in a rollback)."""

    def run(self, ctx: ChaosContext) -> None:
        stack = ctx.scratch.pop("database_outage", None)
        if stack is not None:
            stack.close()
            ctx.timeline.fault(ctx.now(), "database", "restored")


@dataclass(frozen=True)
class RetryPendingUploads:
    """What the recording-retry worker does: archive every recording still pending."""

    def run(self, ctx: ChaosContext) -> None:
        calls = ctx.app.state.services.calls
        _portal(ctx).call(calls.retry_pending_uploads)
        ctx.observe()


def retry_after_on_503() -> Check:
    """Every 503 to ``POST /api/calls`` told the client when to come back (``Retry-After`` in
    whole seconds ≥ 1)."""

    def probe(ctx: ChaosContext) -> str | None:
        unavailable = [s for s in ctx.served if s.path == CALLS and s.response.status_code == 503]
        if not unavailable:
            return "no 503 was served"
        bad = [s for s in unavailable if not s.response.headers.get("retry-after", "").isdigit()]
        return f"{len(bad)} of {len(unavailable)} 503s had no Retry-After" if bad else None

    return Check("503 carries Retry-After", probe)


def calls_persisted() -> Check:
    """Along the way: every call accepted so far is already stored, with the status it was
    answered with (201 → initiated, 202 → queued)."""
    expected = {201: "initiated", 202: "queued"}

    def probe(ctx: ChaosContext) -> str | None:
        wrong = []
        for served in _accepted(ctx):
            body = served.response.json()
            stored = ctx.client.request("GET", f"{CALLS}/{body['id']}")
            status = stored.json().get("status") if stored.status_code == 200 else None
            if status != expected[served.response.status_code]:
                wrong.append(f"{body['id']}: {status or stored.status_code}")
        return f"not stored as answered: {wrong[:5]}" if wrong else None

    return Check("accepted calls are persisted", probe)


# -- data checks ---------------------------------------------------------------------------
def _stored_order_ids(ctx: ChaosContext) -> set[str]:
    async def query() -> set[str]:
        async with ctx.app.state.services.engine.connect() as connection:
            rows = await connection.execute(select(CallRow.order_id))
            return {str(row[0]) for row in rows}

    result: set[str] = _portal(ctx).call(query)
    return result


def _lost_calls(ctx: ChaosContext) -> tuple[int, list[str]]:
    lost: list[str] = []
    accepted = _accepted(ctx)
    for served in accepted:
        body = served.response.json()
        response = ctx.client.request("GET", f"{CALLS}/{body['id']}")
        if response.status_code != 200 or response.json().get("order_id") != body["order_id"]:
            lost.append(
                f"call {body['id']} (order {body['order_id']}, answered "
                f"{served.response.status_code} at {served.at:g}s): GET -> {response.status_code}"
            )
    return len(accepted), lost


CALLS_KEPT = "every POST /api/calls answered 201 or 202 is retrievable with GET /api/calls/{id}"


def calls_kept(ctx: ChaosContext) -> DataLossCheck:
    checked, lost = _lost_calls(ctx)
    return DataLossCheck(CALLS_KEPT, checked, tuple(lost))


def calls_kept_nothing_half_written(ctx: ChaosContext) -> DataLossCheck:
    """Accepted calls are kept, and a request refused with 503 left no row behind."""
    checked, lost = _lost_calls(ctx)
    stored = _stored_order_ids(ctx)
    refused = [
        s.json["order_id"]
        for s in ctx.served
        if s.path == CALLS and s.method == "POST" and s.response.status_code == 503
    ]
    lost += [
        f"order {o} was refused with 503 but is stored (half-written)"
        for o in refused
        if o in stored
    ]
    return DataLossCheck(
        CALLS_KEPT + "; no order refused with 503 is stored", checked + len(refused), tuple(lost)
    )


def recordings_kept(ctx: ChaosContext) -> DataLossCheck:
    """Accepted calls are kept, and every recording Exotel reported reached Wasabi."""
    checked, lost = _lost_calls(ctx)
    by_sid = {
        str(s.response.json()["exotel_call_sid"]): s.response.json()["id"]
        for s in _accepted(ctx)
        if s.response.status_code == 201
    }
    for sid in ctx.scratch.get("callbacks", []):
        call = ctx.client.request("GET", f"{CALLS}/{by_sid[sid]}").json()
        if not call.get("recording_available"):
            pending = "still pending" if call.get("recording_upload_pending") else "forgotten"
            lost.append(f"recording of call {call.get('id')} is not in Wasabi ({pending})")
    return DataLossCheck(
        CALLS_KEPT + "; every reported recording is stored in Wasabi once it is back",
        checked + len(ctx.scratch.get("callbacks", [])),
        tuple(lost),
    )
