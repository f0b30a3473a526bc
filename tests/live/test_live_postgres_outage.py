"""Live chaos: PostgreSQL, a separate process, is stopped under load and started again.

The reference app (``python -m reference_app`` under uvicorn) stores calls in a real PostgreSQL
16 (the ``pgserver`` wheel's server, its own process on 127.0.0.1) while ``POST /api/calls``
runs at a steady concurrency. Mid-load the server is stopped at once (``pg_ctl -m immediate``:
every connection cut, as a crash would). Then:

- the database breaker opens after 10 consecutive failures (its transition says so);
- clients get 503 with ``Retry-After``, never a 500 nor a dropped connection;
- no call is acknowledged (201/202) without its row in the database;
- once the server is started again the breaker half-opens, closes after its probes, and new
  calls are stored: the same app process, never restarted.

Bounded: the load stops by itself after :data:`TOTAL` requests or :data:`LOAD_CAP` seconds, each
phase waits at most :data:`PHASE_CAP` seconds; everything stays on 127.0.0.1. Nothing is judged
against the test's own stopwatch (phases end on what the app reports).
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Iterator
from typing import Any

import anyio
import httpx
import psutil
import pytest

from pytest_hardening.live import LiveProviders, LoadReport, run_load
from reference_app import fakes
from reference_app.testing import TEST_MERCHANT_API_KEY
from tests._postgres import LocalPostgres, PostgresAdmin

from ._support import SHOP, app_env, reference_app, stored_ids

pytestmark = [pytest.mark.live(seconds=9), pytest.mark.anyio]

CONCURRENCY = 8
TOTAL = 3_000
LOAD_CAP = 180.0
PHASE_CAP = 60.0
#: Calls acknowledged before the server is stopped, and after the breaker closed again.
BEFORE, AFTER = 40, 40
#: Requests answered while the breaker is open (fast-failed) before the server is started.
WHILE_OPEN = 30
#: The database breaker's open timeout (production: 60 s): a short real-time recovery.
OPEN_TIMEOUT = 2.0
THRESHOLD = 10  # SERVICE_BREAKERS["database"]: failures to open
BREAKERS = "/api/monitoring/circuit-breakers"


@pytest.fixture
def postgres() -> Iterator[LocalPostgres]:
    """A server of this test's own (it is stopped mid-test: never the session's shared one)."""
    if importlib.util.find_spec("pgserver") is None:
        pytest.skip("needs the `test` extra (pgserver)")
    server = LocalPostgres()
    try:
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
def live() -> Iterator[LiveProviders]:
    handlers = {"exotel": fakes.exotel, "openai": fakes.openai, "wasabi": fakes.wasabi}
    with LiveProviders(handlers) as providers:
        yield providers


async def database_breaker(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get(BREAKERS)
    response.raise_for_status()
    breaker: dict[str, Any] = response.json()["circuit_breakers"]["database"]
    return breaker


class Outage:
    """Drives the phases while the load runs: up → stopped → open → started → closed."""

    def __init__(self, http: httpx.AsyncClient, server: LocalPostgres) -> None:
        self.http = http
        self.server = server
        self.phase = "up"
        self.acked = 0
        self.acked_after_close = 0
        self.breaker: dict[str, Any] = {}

    async def send(self, index: int) -> httpx.Response:
        body = {"order_id": f"pg{index}", "shop": SHOP, "phone": "+919876543210"}
        response = await self.http.post("/api/calls", json=body)
        if response.status_code in (201, 202):
            self.acked += 1
            self.acked_after_close += self.phase == "closed"
        return response

    def done(self) -> bool:
        return self.phase == "closed" and self.acked_after_close >= AFTER

    async def _until(self, what: str, ready: Any) -> None:
        with anyio.fail_after(PHASE_CAP):
            while not await ready():
                await asyncio.sleep(0.05)
        self.phase = what

    async def drive(self, load: asyncio.Task[LoadReport]) -> None:
        async def acked_enough() -> bool:
            return self.acked >= BEFORE

        async def state_is(state: str) -> bool:
            self.breaker = await database_breaker(self.http)
            return str(self.breaker["state"]) == state

        async def fast_failed_enough() -> bool:
            rejected = (await database_breaker(self.http))["rejections"]
            return int(rejected) >= WHILE_OPEN

        await self._until("up", acked_enough)
        await anyio.to_thread.run_sync(self.server.stop)
        self.phase = "stopped"
        await self._until("open", lambda: state_is("OPEN"))
        await self._until("open", fast_failed_enough)
        await anyio.to_thread.run_sync(self.server.start)
        self.phase = "started"
        await self._until("closed", lambda: state_is("CLOSED"))
        with anyio.fail_after(PHASE_CAP):
            while not self.done() and not load.done():
                await asyncio.sleep(0.05)


MERCHANT = {"Authorization": f"Bearer {TEST_MERCHANT_API_KEY}"}


async def test_postgres_stopped_under_load_opens_the_breaker_and_recovers_without_restart(
    live: LiveProviders, postgres: LocalPostgres
) -> None:
    url = PostgresAdmin(postgres.url).create_database("outage")
    env = app_env(live, url, BREAKER_OPEN_TIMEOUTS=f"database={OPEN_TIMEOUT:g}")
    with reference_app(env, ready_timeout=60) as app:
        pid = app.pid
        started = psutil.Process(pid).create_time()
        limits = httpx.Limits(max_connections=CONCURRENCY + 4, keepalive_expiry=1.0)
        async with httpx.AsyncClient(
            base_url=app.url, trust_env=False, timeout=60.0, limits=limits, headers=MERCHANT
        ) as http:
            outage = Outage(http, postgres)
            load = asyncio.ensure_future(
                run_load(
                    outage.send,
                    total=TOTAL,
                    concurrency=CONCURRENCY,
                    max_seconds=LOAD_CAP,
                    stop=outage.done,
                )
            )
            try:
                await outage.drive(load)
            finally:
                report = await load
            breaker = await database_breaker(http)
        # The process that served the first call served the last: no restart in between.
        process = psutil.Process(pid)
        assert process.create_time() == started
        assert process.status() != psutil.STATUS_ZOMBIE
        output = app.output(3000)
        problems = [
            line
            for line in app.output(1_000_000).splitlines()
            if any(mark in line for mark in ("ERROR", "Traceback", "Error:", "Exception"))
        ]

    statuses = report.statuses
    print(f"postgres outage: {report.describe()}; database breaker: {breaker['transitions']}")
    dropped = [s for s in report.samples if s.response is None]
    assert set(statuses) <= {201, 202, 503}, (
        f"expected 201/202/503 only, never a 500 or a dropped connection; got {statuses}.\n"
        f"dropped: {[(s.index, s.error, s.detail, round(s.elapsed, 3), s.wall) for s in dropped]}"
        f"\nbreaker transitions: {breaker['transitions']}\n"
        f"the app's error lines ({len(problems)}):\n"
        + "\n".join(problems[-20:])
        + f"\nthe app's last output:\n{output}"
    )
    unavailable = [s for s in report.samples if s.status == 503]
    assert len(unavailable) >= THRESHOLD + WHILE_OPEN - CONCURRENCY, statuses
    assert all(
        s.response is not None and int(s.response.headers["Retry-After"]) >= 1 for s in unavailable
    )
    acked = {
        s.response.json()["id"]
        for s in report.samples
        if s.response is not None and s.status in (201, 202)
    }
    assert len(acked) >= BEFORE + AFTER
    assert stored_ids(url, acked) == acked, "a call was acknowledged without a stored row"

    moves = [(t["from"], t["to"], t["reason"]) for t in breaker["transitions"]]
    assert moves[0] == ("CLOSED", "OPEN", f"{THRESHOLD} consecutive failures"), moves
    assert ("HALF_OPEN", "CLOSED") in [(a, b) for a, b, _ in moves], moves
    assert breaker["state"] == "CLOSED"
    # After recovery every call is stored again: the last requests all succeeded.
    tail = sorted(report.samples, key=lambda s: s.started)[-CONCURRENCY:]
    assert all(s.status == 201 for s in tail), [s.status for s in tail]
