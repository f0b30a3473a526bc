"""Live chaos: the reference app under uvicorn, real load, Exotel hanging, real time.

Proves over real sockets what the in-process tests prove with virtual time: under load
(``POST /api/calls`` at concurrency 32) while Exotel hangs past the app's Exotel timeout, no
client sees a 5xx, every accepted call is stored, the breaker opens and fast-fails (requests sent
while it is open never reach Exotel and answer well within Exotel's timeout, which every request
waits out without a breaker), and after healing the breaker closes and the queued calls are still
there.

Robust on a slow, loaded machine: nothing is judged against the test's own stopwatch. The
breaker's transition times (``wall_time`` from the monitoring endpoint) split the requests into
those sent before it opened and those sent while it stayed open (before any probe); the
load ends once enough of the latter were sent (not after a fixed number of seconds), and every
wait has a bound, generous because it only matters when the test fails. The one latency check
compares the fast-fail latency with Exotel's timeout, with a margin chosen so that it holds on a
machine four times slower than a quiet 2-core one; absolute figures belong in ``bench/``.

Both apps get ``PROVIDER_TIMEOUTS=exotel=12`` (the client's default is a 10 s read): the run
with the breaker and the baseline without one run side by side, and a request that waits out the
timeout is told apart from a fast-failed one on a machine several times slower under load.

The clients expire idle connections after :data:`CLIENT_KEEPALIVE` s, well before the app's
uvicorn closes them (5 s): reusing a connection the server is closing as idle fails with "Server
disconnected without sending a response", a race a busy machine makes likely (the baseline's
connections sit idle while the other load finishes).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from collections.abc import Awaitable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from pytest_hardening.live import LiveApp, LiveProviders, LoadReport, Sample, percentile, run_load
from reference_app import fakes
from reference_app.testing import TEST_MERCHANT_API_KEY

from ._support import ROOT, SHOP, UNSET, app_env, reference_app, stored_ids

pytestmark = [pytest.mark.live(seconds=30), pytest.mark.anyio]

TOTAL = 2_000
CONCURRENCY = 32
# PROVIDER_TIMEOUTS=exotel=12 (the client's default: 10 s read). Fast-failed requests answer in
# 0.4-0.6 s at p90 on a quiet 2-core machine (queued behind 32 concurrent requests), 2.4-2.8 s
# with four CPU burners on its two cores, and 2.4-6.2 s with the burners on a machine about
# twice as slow, where a 5 s timeout failed. The queueing grows with the machine's slowness, so
# the timeout keeps a margin of about 2x over the slowest seen. A shorter one saves seconds of
# waiting but makes CI red by chance (3 s did: "p99 was 3042.5 ms").
EXOTEL_TIMEOUT = 12.0
HANG = 30.0  # Exotel holds every call this long: far past the app's timeout
#: Requests that must start after the breaker was seen OPEN before the load stops: the
#: fast-fail sample (a few times the concurrency, so one slow request cannot make the p90).
AFTER_OPEN = 2 * CONCURRENCY
#: Bound on the loaded phase (the breaker opens ~EXOTEL_TIMEOUT in; slack for a slow machine).
LOAD_CAP = EXOTEL_TIMEOUT + 60.0
#: BREAKER_OPEN_TIMEOUTS=exotel=12 (production: 60 s): a short real-time recovery, yet long
#: enough for AFTER_OPEN requests to be sent before the first half-open probe on a slow, loaded
#: machine (two waves of 32 at up to ~5 s each).
OPEN_TIMEOUT = 12.0
#: The percentile of fast-failed latencies compared with the timeout: the p90 of 64+ requests
#: is not moved by a few requests the scheduler stalled.
FAST_PERCENTILE = 90
#: Seconds before a client drops an idle connection: well below uvicorn's keep-alive (5 s).
CLIENT_KEEPALIVE = 1.0
BASELINE_SECONDS = 1.0  # without a breaker every request hangs EXOTEL_TIMEOUT: one wave is enough
BREAKERS = "/api/monitoring/circuit-breakers"


def env(live: LiveProviders, database: Path | str, **extra: str) -> dict[str, str]:
    """The live app env with the shortened Exotel timeout (both apps: a fair baseline)."""
    return app_env(live, database, PROVIDER_TIMEOUTS=f"exotel={EXOTEL_TIMEOUT:g}", **extra)


def dials_per_call(live: LiveProviders, ids: list[str]) -> Counter[str]:
    """Dials Exotel accepted for each of ``ids`` (our call id is in the signed StatusCallback)."""
    wanted, counts = set(ids), Counter[str]()
    for call in live.calls("exotel"):
        if call.outcome.startswith("ok") and call.request.url.path.endswith("connect.json"):
            form = parse_qs(call.request.content.decode())
            call_id = httpx.URL(form["StatusCallback"][0]).params.get("call_id")
            if call_id in wanted:
                counts[call_id] += 1
    return counts


@pytest.fixture
def live() -> Iterator[LiveProviders]:
    handlers = {"exotel": fakes.exotel, "openai": fakes.openai, "wasabi": fakes.wasabi}
    with LiveProviders(handlers) as providers:
        yield providers


@pytest.fixture
def apps(
    live: LiveProviders, tmp_path: Path, live_database: Path | str
) -> Iterator[tuple[LiveApp, LiveApp | None]]:
    """Both apps boot in parallel: the real entry point with breakers, and the baseline.

    The baseline (no breaker, its own SQLite file) does not depend on the database under test:
    it runs beside the SQLite app only, and the PostgreSQL run spares its process."""
    with_breaker = reference_app(
        env(live, live_database, BREAKER_OPEN_TIMEOUTS=f"exotel={OPEN_TIMEOUT:g}"),
        ready_timeout=60,
    )
    baseline = (
        LiveApp.uvicorn(
            "tests.live._factories:app_without_exotel_breaker",
            factory=True,
            env=env(live, tmp_path / "baseline.db"),
            unset=UNSET,
            health_path="/api/monitoring/health",
            ready_timeout=60,
            cwd=ROOT,
        )
        if isinstance(live_database, Path)
        else None
    )
    started = [app for app in (with_breaker, baseline) if app is not None]
    try:
        for app in started:
            app.launch()
        for app in started:
            app.wait_ready()
        yield with_breaker, baseline
    finally:
        for app in started:
            app.__exit__(None, None, None)


#: Idempotency-Keys sent at the end, each by DUPLICATES concurrent identical requests.
KEYS = 20
DUPLICATES = 3
#: The test merchant's key: calls need a merchant.
MERCHANT = {"Authorization": f"Bearer {TEST_MERCHANT_API_KEY}"}


def place(http: httpx.AsyncClient, prefix: str) -> Any:
    def send(i: int) -> Any:
        body = {"order_id": f"{prefix}{i}", "shop": SHOP, "phone": "+919876543210"}
        return http.post("/api/calls", json=body)

    return send


async def exotel_breaker(http: httpx.AsyncClient) -> dict[str, Any]:
    response = await http.get(BREAKERS)
    response.raise_for_status()
    breaker: dict[str, Any] = response.json()["circuit_breakers"]["exotel"]
    return breaker


def transition_wall(breaker: dict[str, Any], from_state: str, to_state: str) -> float:
    """``time.time()`` of the breaker's first ``from_state → to_state`` transition (inf: none)."""
    return min(
        (
            t["wall_time"]
            for t in breaker["transitions"]
            if (t["from"], t["to"]) == (from_state, to_state)
        ),
        default=math.inf,
    )


def accepted_ids(report: LoadReport) -> dict[str, str]:
    """id -> status of every call the app accepted (201/202)."""
    return {
        s.response.json()["id"]: s.response.json()["status"]
        for s in report.samples
        if s.response is not None and s.status in (201, 202)
    }


def assert_no_5xx(report: LoadReport, app: LiveApp, live: LiveProviders) -> None:
    """No 5xx (the database's 503 included) and no transport error."""
    __tracebackhide__ = True
    bad = [s for s in report.samples if s.status is None or s.status >= 500]
    if bad:
        first = bad[0]
        pytest.fail(
            f"expected zero 5xx/transport errors for POST /api/calls while Exotel is down "
            f"(degraded path: 202 queued); got {len(bad)} of {len(report.samples)}: "
            f"{report.statuses}.\nfirst: #{first.index} status={first.status} "
            f"error={first.error} ({first.detail}) "
            f"body={first.response.text[:300] if first.response else ''}\n"
            f"recent Exotel calls:\n{live.history('exotel')}\napp output:\n{app.output(2000)}"
        )


def client(app: LiveApp) -> httpx.AsyncClient:
    limits = httpx.Limits(
        max_connections=CONCURRENCY + 4,
        max_keepalive_connections=CONCURRENCY,
        keepalive_expiry=CLIENT_KEEPALIVE,
    )
    # Generous: the first wave waits out the Exotel timeout on a possibly busy machine.
    return httpx.AsyncClient(
        base_url=app.url, trust_env=False, timeout=60.0, limits=limits, headers=MERCHANT
    )


class LoadUntilFastFailed:
    """Load ``POST /api/calls`` until AFTER_OPEN requests were sent after the Exotel breaker
    opened (by the breaker's own transition time, polled from the monitoring endpoint)."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self.opened_wall = math.inf  # the CLOSED → OPEN transition's wall_time, once seen
        self.sent_after_open = 0
        self._send = place(http, "L")

    def send(self, index: int) -> Awaitable[httpx.Response]:
        if time.time() >= self.opened_wall:
            self.sent_after_open += 1
        return self._send(index)

    def enough(self) -> bool:
        return self.sent_after_open >= AFTER_OPEN

    async def watch(self, done: asyncio.Event) -> None:
        while not done.is_set() and self.opened_wall == math.inf:
            self.opened_wall = transition_wall(await exotel_breaker(self.http), "CLOSED", "OPEN")
            await asyncio.sleep(0.1)

    async def run(self) -> LoadReport:
        done = asyncio.Event()
        watcher = asyncio.create_task(self.watch(done))
        try:
            return await run_load(
                self.send,
                total=TOTAL,
                concurrency=CONCURRENCY,
                max_seconds=LOAD_CAP,
                stop=self.enough,
            )
        finally:
            done.set()
            await watcher


def fast_failed(report: LoadReport, opened: float, probed: float) -> list[Sample]:
    """Requests sent after the breaker opened and before it admitted its first half-open probe.

    Judged by when they were sent, not by when they were answered (a slow machine answers late):
    each of them reached the breaker while it was open, and so was rejected, unless it arrived
    after the half-open transition and was itself the probe (at most one per probe)."""
    return report.started_between(opened, probed)


async def run_baseline(baseline: LiveApp | None) -> LoadReport | None:
    """The same load on the app without a breaker: every call waits out Exotel's timeout."""
    if baseline is None:
        return None
    async with client(baseline) as plain:
        without = await run_load(
            place(plain, "B"), total=TOTAL, concurrency=CONCURRENCY, max_seconds=BASELINE_SECONDS
        )
        assert (await exotel_breaker(plain))["state"] == "CLOSED"
    return without


async def test_exotel_hang_under_load_fast_fails_loses_nothing_and_recovers(
    live: LiveProviders, apps: tuple[LiveApp, LiveApp | None], live_database: Path | str
) -> None:
    app, baseline = apps
    live.hang("exotel", HANG)

    # 1. The same load on both apps at once: without a breaker every call waits out the
    #    timeout; with it, the first wave does, then the breaker opens and the rest fast-fail.
    async with client(app) as http:
        load = LoadUntilFastFailed(http)
        without, report = await asyncio.gather(run_baseline(baseline), load.run())
        breaker = await exotel_breaker(http)
    if without is not None:
        assert baseline is not None
        assert_no_5xx(without, baseline, live)
    assert_no_5xx(report, app, live)
    opened = transition_wall(breaker, "CLOSED", "OPEN")
    assert opened < math.inf, (
        f"expected the exotel breaker to open under load (5 consecutive failures); it stayed "
        f"{breaker['state']} through {report.describe()}.\nbreaker: {breaker}\n"
        f"recent Exotel calls:\n{live.history('exotel')}"
    )
    probed = transition_wall(breaker, "OPEN", "HALF_OPEN")
    probes = sum(1 for t in breaker["transitions"] if t["to"] == "HALF_OPEN")
    fast = fast_failed(report, opened, probed)
    started_before = len([s for s in report.samples if s.wall < opened])
    assert len(fast) >= CONCURRENCY, (
        f"expected at least {CONCURRENCY} requests to be sent while the breaker was open "
        f"(before any half-open probe); got {len(fast)} of {len(report.samples)} "
        f"(load stopped after {load.sent_after_open} sent after it opened).\n"
        f"transitions: {breaker['transitions']}"
    )
    # Counted by the breaker itself once every request has finished: a call can only reach
    # Exotel if its request was sent before the breaker opened, or as a half-open probe.
    reached = breaker["total_calls"] - breaker["rejections"]
    assert reached <= started_before + probes, (
        f"expected the open breaker to shield Exotel: only requests sent before it opened "
        f"({started_before}) and {probes} half-open probe(s) may reach Exotel, but {reached} "
        f"calls did for {len(report.samples)} requests ({breaker['rejections']} rejected)"
    )
    assert breaker["rejections"] >= len(fast) - probes, (
        f"expected each of the {len(fast)} requests sent while the breaker was open to be "
        f"rejected by it (but {probes} half-open probe(s)); the breaker counted "
        f"{breaker['rejections']} rejections"
    )

    fast_latencies = [s.elapsed for s in fast]
    p_open = percentile(fast_latencies, FAST_PERCENTILE)
    p = f"p{FAST_PERCENTILE}"
    if without is not None:
        p_without = f"{without.p(FAST_PERCENTILE) * 1000:.1f} ms"
        baseline_line = f"  without breaker: {without.describe()}\n"
    else:
        p_without, baseline_line = "not run (the SQLite run has it)", ""
    print(
        f"\n[live load] Exotel hangs ({HANG:g}s; app timeout {EXOTEL_TIMEOUT:g}s), "
        f"concurrency {CONCURRENCY}\n"
        f"  with breaker   : {report.describe()}\n"
        f"    {started_before} sent before the breaker opened; {len(fast)} sent "
        f"while open, {p} {p_open * 1000:.1f} ms\n"
        f"{baseline_line}"
        f"  {p} once open {p_open * 1000:.1f} ms vs without breaker {p_without}; "
        f"Exotel calls through the breaker: {reached}, fast-failed: {breaker['rejections']}"
    )
    # Without a breaker every request waits out the timeout (p_without >= EXOTEL_TIMEOUT), so
    # this also says "faster than the same load without a breaker".
    assert p_open < EXOTEL_TIMEOUT, (
        f"expected requests sent while the breaker was open not to wait for Exotel's "
        f"{EXOTEL_TIMEOUT:g}s timeout; their {p} was {p_open * 1000:.1f} ms (without a "
        f"breaker: {p_without}). A quiet 2-core machine answers them in ~0.6 s: "
        f"is the machine more than 4x slower, or is the breaker not failing fast?"
    )
    if without is not None:  # the comparison, measured side by side
        assert without.p(FAST_PERCENTILE) >= EXOTEL_TIMEOUT > p_open, without.describe()

    # 2. Nothing lost: every 201/202 is a row in the database.
    accepted = accepted_ids(report)
    assert len(accepted) == len(report.samples), report.describe()
    stored = stored_ids(live_database, accepted)
    assert stored == set(accepted), (
        f"expected every accepted call in the database; {len(accepted) - len(stored)} of "
        f"{len(accepted)} missing (e.g. {sorted(set(accepted) - stored)[:3]})"
    )

    # 3. Recovery: heal Exotel, let the (shortened) open timeout pass, keep sending traffic.
    live.heal("exotel")
    async with client(app) as http:
        recovery: list[int] = []
        # A probe admitted just before healing still hangs until the app's timeout, then the
        # breaker waits another open timeout: bounded by both, plus slack for a slow machine.
        deadline = time.monotonic() + EXOTEL_TIMEOUT + OPEN_TIMEOUT + 60.0
        state = breaker["state"]
        while state != "CLOSED" and time.monotonic() < deadline:
            response = await place(http, "R")(len(recovery))
            recovery.append(response.status_code)
            state = (await exotel_breaker(http))["state"]
            if state == "OPEN":
                await asyncio.sleep(0.2)
        breaker = await exotel_breaker(http)
        assert breaker["state"] == "CLOSED", (
            f"expected the exotel breaker to close after healing and {OPEN_TIMEOUT:g}s; it is "
            f"{breaker['state']} after {len(recovery)} requests {recovery[-10:]}.\n"
            f"transitions: {breaker['transitions'][-5:]}\nrecent Exotel calls:\n"
            f"{live.history('exotel')}"
        )
        path = [(t["from"], t["to"]) for t in breaker["transitions"]][-2:]
        assert path == [("OPEN", "HALF_OPEN"), ("HALF_OPEN", "CLOSED")], breaker["transitions"]
        assert set(recovery) <= {201, 202}, recovery
        # The probe that closed it may have been the re-dial worker's (it dials the queued
        # calls through the same breaker), so the loop's last answer may still be a 202:
        # a call placed once it is closed is dialled.
        after = await place(http, "R")(len(recovery))
        assert after.status_code == 201, (after.status_code, recovery[-10:])

        # Queued calls are still retrievable through the API, as queued.
        queued = [i for i, status in accepted.items() if status == "queued"]
        ids = iter(queued)
        got = await run_load(
            lambda _: http.get(f"/api/calls/{next(ids)}"),
            total=len(queued),
            concurrency=CONCURRENCY,
            max_seconds=120,  # a bound for a failing run only
        )
    assert got.statuses == {200: len(queued)}, got.describe()
    # Still queued, or dialled since by the re-dial worker (recovery came): once each, never more.
    statuses = {s.response.json()["status"] for s in got.samples if s.response is not None}
    assert statuses <= {"queued", "initiated"}, statuses
    redialled = dials_per_call(live, queued)
    assert set(redialled.values()) <= {1}, redialled
    print(
        f"  recovery: CLOSED after {len(recovery)} request(s) {recovery}; "
        f"{len(queued)} queued calls retrievable ({got.describe()})"
    )

    # 4. Retries: every key sent DUPLICATES times at once; one dial per key, one call id.
    async with client(app) as http:

        async def with_key(i: int) -> httpx.Response:
            key = f"retry-{i // DUPLICATES}"
            body = {"order_id": key, "shop": SHOP, "phone": "+919876543210"}
            return await http.post("/api/calls", json=body, headers={"Idempotency-Key": key})

        answers = await asyncio.gather(*(with_key(i) for i in range(KEYS * DUPLICATES)))
        # A duplicate arriving while its first request still runs is told to retry (409):
        # retry those until every key has its answer.
        for _ in range(50):
            pending = [i for i, r in enumerate(answers) if r.status_code == 409]
            if not pending:
                break
            await asyncio.sleep(0.1)
            for i in pending:
                answers[i] = await with_key(i)
        codes = sorted({r.status_code for r in answers})
        assert set(codes) <= {201, 202}, codes
        ids_per_key: dict[str, set[str]] = {}
        for i, r in enumerate(answers):
            ids_per_key.setdefault(f"retry-{i // DUPLICATES}", set()).add(r.json()["id"])
        # Only the dials of these calls: the re-dial worker may be dialling queued ones meanwhile.
        retry_ids = [i for ids in ids_per_key.values() for i in ids]
        dials = sum(dials_per_call(live, retry_ids).values())
        print(
            f"  idempotent retries: {KEYS} keys x {DUPLICATES} concurrent duplicates -> "
            f"{dials} Exotel dials, statuses {codes}"
        )
        assert all(len(ids) == 1 for ids in ids_per_key.values()), ids_per_key
        assert dials == KEYS, f"expected one dial per Idempotency-Key ({KEYS}); got {dials}"
