"""The re-dial worker in a chaos run: one awaited round, and the check that every queued call
was dialled exactly once (docs/redial.md)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from urllib.parse import parse_qs

import httpx

from pytest_hardening.chaos import ChaosContext, DataLossCheck

from ._steps import CALLS, _accepted, _lost_calls

__all__ = ["RedialQueued", "queued_calls_dialled_once"]


@dataclass(frozen=True)
class RedialQueued:
    """What the re-dial worker does when a round is due: one round, awaited. In a chaos run
    this step is the worker's timer (``create_chaos_app``), so rounds fall at the same point
    of the timeline on every run."""

    def run(self, ctx: ChaosContext) -> None:
        ctx.run_async(ctx.app.state.redial.redial_once)
        ctx.observe()


def _dials(ctx: ChaosContext) -> Counter[str]:
    """Dials the fake Exotel accepted, per our call id (from the signed StatusCallback URL)."""
    counts: Counter[str] = Counter()
    for call in ctx.faults.calls("exotel"):
        request: httpx.Request = call.request
        if not (str(call.outcome).startswith("ok") and request.url.path.endswith("connect.json")):
            continue
        form = parse_qs(request.content.decode())
        call_id = httpx.URL(form["StatusCallback"][0]).params.get("call_id")
        if call_id:
            counts[call_id] += 1
    return counts


def queued_calls_dialled_once(ctx: ChaosContext) -> DataLossCheck:
    """Accepted calls are kept, and every one -- answered 201 or queued with 202 -- was dialled
    exactly once and is stored as initiated with its CallSid."""
    checked, lost = _lost_calls(ctx)
    dials = _dials(ctx)
    for served in _accepted(ctx):
        call_id = str(served.response.json()["id"])
        stored = ctx.client.request("GET", f"{CALLS}/{call_id}").json()
        if dials[call_id] != 1:
            lost.append(f"call {call_id}: dialled {dials[call_id]} times, not once")
        elif stored.get("status") == "queued" or not stored.get("exotel_call_sid"):
            lost.append(f"call {call_id}: dialled but stored as {stored.get('status')!r}")
    return DataLossCheck(
        "every accepted call is retrievable, dialled exactly once, and stored with its CallSid",
        checked,
        tuple(lost),
    )
