"""Queued calls are dialled once Exotel recovers: exactly once, across instances, never after a
status callback or a dial that may have reached Exotel (docs/redial.md).

Every test runs on SQLite and on PostgreSQL (``hardening_database_url``). Rounds are awaited
through the client's portal (``redial_once``); the background worker may run a round of its
own after ``clock.advance``, so assertions read the data, not one round's counts.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace
from urllib.parse import parse_qs

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from pytest_hardening import Clock, FaultInjector
from reference_app._redial import RedialWorker
from reference_app.db import RedialClaims
from reference_app.resilience import State
from reference_app.testing import TEST_MERCHANT_API_KEY

from .conftest import new_call, stored_rows

CALLBACK = "/api/webhooks/exotel/status-callback"
#: Past the first back-off (twice Exotel's 60 s open timeout).
FIRST_BACKOFF = 121.0


def _redial(client: TestClient, app: FastAPI) -> object:
    assert client.portal is not None
    return client.portal.call(app.state.redial.redial_once)


def dials_per_call(faults: FaultInjector, ids: list[str] | None = None) -> Counter[str]:
    """Dials Exotel accepted, per our call id (read from the signed StatusCallback URL)."""
    counts: Counter[str] = Counter()
    if ids is not None:
        mine = dials_per_call(faults)
        return Counter({i: mine[i] for i in ids if mine[i]})
    for call in faults.calls("exotel"):
        if call.outcome.startswith("ok") and call.request.url.path.endswith("connect.json"):
            form = parse_qs(call.request.content.decode())
            callback = httpx.URL(form["StatusCallback"][0])
            counts[callback.params["call_id"]] += 1
    return counts


def _queue(client: TestClient, faults: FaultInjector, n: int) -> list[str]:
    faults.refuse("exotel", times=n)
    ids = []
    for _ in range(n):
        placed = client.post("/api/calls", json=new_call())
        assert placed.status_code == 202, placed.text
        ids.append(placed.json()["id"])
    faults.heal("exotel")  # refusals the open breaker kept from Exotel are not used up
    return ids


def _rounds_until_dialled(
    one_round: Callable[[], object], faults: FaultInjector, clock: Clock, queued: list[str]
) -> None:
    """Rounds until every queued call was dialled (at most eight), past the back-off cap in
    between: a round's first dial meets the Exotel breaker half-open (one probe at a time; the
    background worker may hold it), and the calls it turns away are due after their back-off."""
    for _ in range(8):
        one_round()
        if set(dials_per_call(faults, queued)) >= set(queued):
            return
        clock.advance(600)


def _statuses(url: str) -> dict[str, tuple[str, str | None]]:
    rows = stored_rows(url, "SELECT id, status, exotel_call_sid FROM calls")
    return {r[0]: (r[1], r[2]) for r in rows}


def test_queued_calls_are_dialled_once_after_the_back_off(
    hardened_client: TestClient,
    hardened_app: FastAPI,
    faults: FaultInjector,
    clock: Clock,
    hardening_database_url: str,
) -> None:
    queued = _queue(hardened_client, faults, 3)
    _redial(hardened_client, hardened_app)  # not due yet: nothing dialled
    assert dials_per_call(faults, queued) == Counter()

    clock.advance(FIRST_BACKOFF)
    _rounds_until_dialled(lambda: _redial(hardened_client, hardened_app), faults, clock, queued)
    _redial(hardened_client, hardened_app)  # one more round finds nothing left

    assert dials_per_call(faults, queued) == Counter(dict.fromkeys(queued, 1))
    stored = _statuses(hardening_database_url)
    assert {stored[i][0] for i in queued} == {"initiated"}
    assert all(stored[i][1] for i in queued)  # each keeps its CallSid
    listed = hardened_client.get(f"/api/calls/{queued[0]}").json()
    assert listed["status"] == "initiated"


def test_the_background_worker_runs_when_the_clock_moves(
    hardened_client: TestClient, faults: FaultInjector, clock: Clock, hardening_database_url: str
) -> None:
    queued = _queue(hardened_client, faults, 2)
    clock.advance(FIRST_BACKOFF)
    for _ in range(400):  # bounded: the worker checks every 0.5 s of real time
        if len(dials_per_call(faults, queued)) == 2:
            break
        time.sleep(0.05)
        clock.advance(0.05)  # time goes on while we wait (never backwards past a round)
    assert dials_per_call(faults, queued) == Counter(dict.fromkeys(queued, 1))


def test_no_round_is_due_until_the_clock_moves_a_round(
    hardened_app: FastAPI, hardened_client: TestClient, clock: Clock
) -> None:
    # The app was reset on real time just before the clock started: a round due at once would
    # race the test's own database work (a success ends a breaker's failure streak the test is
    # counting). It comes due about a round later, on the test's clock. (Half a round leaves
    # room for the real time between the reset and the clock's start on a slow machine.)
    worker = hardened_app.state.redial
    assert not worker.round_due()
    clock.advance(worker.round_seconds / 2)
    assert not worker.round_due()
    clock.advance(worker.round_seconds)
    assert worker.round_due()


def test_calls_rejected_by_the_open_breaker_are_dialled_after_recovery(
    hardened_client: TestClient,
    hardened_app: FastAPI,
    faults: FaultInjector,
    clock: Clock,
    hardening_database_url: str,
) -> None:
    faults.refuse("exotel", times=5)
    queued = [hardened_client.post("/api/calls", json=new_call()).json()["id"] for _ in range(8)]
    assert hardened_app.state.breakers["exotel"].state.value == "OPEN"
    clock.advance(60.0)  # half-open, but the calls' back-off has not passed
    _redial(hardened_client, hardened_app)
    assert dials_per_call(faults, queued) == Counter()
    clock.advance(FIRST_BACKOFF)
    _redial(hardened_client, hardened_app)
    assert dials_per_call(faults, queued) == Counter(dict.fromkeys(queued, 1))
    assert hardened_app.state.breakers["exotel"].state.value == "CLOSED"


def test_a_dial_that_may_have_reached_exotel_is_never_redialled(
    hardened_client: TestClient,
    hardened_app: FastAPI,
    faults: FaultInjector,
    clock: Clock,
    hardening_database_url: str,
) -> None:
    faults.timeout("exotel", times=1)  # Exotel may have placed it: in doubt
    call = hardened_client.post("/api/calls", json=new_call()).json()
    assert call["status"] == "queued"
    for _ in range(3):
        clock.advance(700.0)
        _redial(hardened_client, hardened_app)
    assert dials_per_call(faults, [call["id"]]) == Counter()
    # Exotel's signed status callback names the CallSid: the call is dialled after all.
    signed = hardened_app.state.services.calls.status_callback_params(call["id"])
    answered = hardened_client.post(
        CALLBACK, params=signed, json={"CallSid": "CA-late", "Status": "ringing"}
    )
    assert answered.status_code == 200, answered.text
    assert _statuses(hardening_database_url)[call["id"]] == ("ringing", "CA-late")


def test_a_call_updated_by_a_status_callback_is_not_redialled(
    hardened_client: TestClient,
    hardened_app: FastAPI,
    faults: FaultInjector,
    clock: Clock,
    hardening_database_url: str,
) -> None:
    (call_id,) = _queue(hardened_client, faults, 1)
    signed = hardened_app.state.services.calls.status_callback_params(call_id)
    hardened_client.post(CALLBACK, params=signed, json={"CallSid": "CA-1", "Status": "completed"})
    clock.advance(FIRST_BACKOFF)
    _redial(hardened_client, hardened_app)
    assert dials_per_call(faults, [call_id]) == Counter()
    assert _statuses(hardening_database_url)[call_id] == ("completed", "CA-1")


def test_a_call_is_given_up_after_six_failed_dials(
    hardened_client: TestClient,
    hardened_app: FastAPI,
    faults: FaultInjector,
    clock: Clock,
    hardening_database_url: str,
) -> None:
    faults.fail("exotel", 400)  # Exotel refuses it every time (4xx: the breaker stays closed)
    call = hardened_client.post("/api/calls", json=new_call()).json()
    for _ in range(8):
        clock.advance(601.0)
        _redial(hardened_client, hardened_app)
    connects = [c for c in faults.calls("exotel") if call["id"] in str(c.request.content)]
    assert len(connects) == 6
    assert _statuses(hardening_database_url)[call["id"]] == ("failed", None)


def test_two_instances_dial_each_queued_call_once(
    hardened_client: TestClient,
    hardened_app: FastAPI,
    faults: FaultInjector,
    clock: Clock,
    hardening_database_url: str,
) -> None:
    queued = _queue(hardened_client, faults, 30)  # more than one round's batch
    clock.advance(FIRST_BACKOFF)
    worker_type = type(hardened_app.state.redial)
    calls = hardened_app.state.services.calls
    fleet = [worker_type(calls, f"instance-{n}") for n in range(3)]

    async def one_round() -> None:
        await asyncio.gather(*(w.redial_once() for w in fleet))

    portal = hardened_client.portal
    assert portal is not None
    _rounds_until_dialled(lambda: portal.call(one_round), faults, clock, queued)
    assert dials_per_call(faults, queued) == Counter(dict.fromkeys(queued, 1))


def test_an_expired_lease_is_taken_over_only_before_the_dial_started(
    hardened_client: TestClient,
    hardened_app: FastAPI,
    faults: FaultInjector,
    clock: Clock,
    hardening_database_url: str,
) -> None:
    first, second = _queue(hardened_client, faults, 2)
    claims = RedialClaims(hardened_app.state.services.repository)
    # Claims at explicit times past the back-off; the app's own clock stays put, so its
    # background worker finds nothing due.
    now = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=FIRST_BACKOFF)
    later = now + dt.timedelta(seconds=31)
    assert hardened_client.portal is not None

    async def scenario() -> tuple[list[str], bool, list[str], bool, list[str]]:
        a = await claims.claim("a", now=now, lease=30, limit=10, max_attempts=6)
        started = await claims.start(first, "a", now=now)  # "a" dials the first, then dies
        b = await claims.claim("b", now=later, lease=30, limit=10, max_attempts=6)
        late_start = await claims.start(second, "a", now=later)  # "a"'s lease is gone
        c = await claims.claim(
            "c", now=later + dt.timedelta(days=1), lease=30, limit=10, max_attempts=6
        )
        return [x.id for x, _ in a], started, [x.id for x, _ in b], late_start, [x.id for x, _ in c]

    a, started, b, late_start, c = hardened_client.portal.call(scenario)
    assert sorted(a) == sorted([first, second])
    assert started
    assert b == [second]  # never the first: its dial had started
    assert not late_start
    assert c == [second]  # "b" never started it either; the first is never claimed again


def test_monitoring_names_the_instance(hardened_client: TestClient) -> None:
    health = hardened_client.get("/api/monitoring/health")
    instance = health.json()["instance"]
    assert instance
    assert health.headers["x-instance-id"] == instance
    metrics = hardened_client.get(
        "/api/monitoring/metrics", headers={"Authorization": f"Bearer {TEST_MERCHANT_API_KEY}"}
    )
    assert metrics.headers["x-instance-id"] == instance


def test_stopping_the_worker_ends_its_wait_at_once() -> None:
    # Shutdown: the event loop's close joins the thread the worker waits in; a wait that ran
    # to its end cost every app shutdown up to a poll interval.
    breaker = SimpleNamespace(open_timeout=1e6, state=State.CLOSED)
    calls = SimpleNamespace(repository=None, exotel=SimpleNamespace(breaker=breaker))
    worker = RedialWorker(calls, "instance-0")  # type: ignore[arg-type]

    async def stop_while_waiting() -> None:
        running = asyncio.ensure_future(worker.run(poll=1e5))
        await asyncio.sleep(0.05)  # let it begin its wait (a hundred thousand seconds)
        worker.stop()
        await asyncio.wait_for(running, timeout=60)  # a generous bound for a failing run only

    asyncio.run(stop_while_waiting())
