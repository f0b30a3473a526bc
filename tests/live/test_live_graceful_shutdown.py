"""Live: SIGTERM with requests in flight. They complete, the process exits 0 within its grace
period, and every Sentry event captured before and during shutdown reaches the ingest stub.

The app is the real entry point (``python -m reference_app``) with Sentry pointed at a local
Sentry-compatible ingest (:class:`~pytest_hardening.live.SentryIngest`). In development every
request is a Sentry transaction (100 % sampling), so the events counted are the transactions of
the requests; the app has no route that errors on purpose, and its logged errors need a broken
database (which would fail the in-flight requests too).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from pytest_hardening.live import LiveProviders, SentryIngest
from reference_app import fakes
from reference_app.testing import TEST_MERCHANT_API_KEY

from ._support import SHOP, app_env, reference_app

pytestmark = [pytest.mark.live(seconds=5), pytest.mark.anyio]

#: SHUTDOWN_GRACE_SECONDS (uvicorn's timeout_graceful_shutdown). The drain takes ~1 s on a quiet
#: 2-core machine, 4-7 s with four CPU burners on its two cores: 30 s (a common platform default)
#: holds on a machine several times slower.
GRACE = 30.0
#: Bound on seeing new connections refused once SIGTERM is sent (a loaded machine is slow to
#: deliver and handle the signal; quiet: well under 0.5 s); the in-flight calls are held at
#: Exotel until then, so it must stay well inside GRACE. Only a failing run waits this long.
REFUSAL_WITHIN = 8.0
#: Seconds before the test's client drops an idle connection: below uvicorn's keep-alive (5 s),
#: so a request never meets the server closing an idle connection.
CLIENT_KEEPALIVE = 1.0
BEFORE = 4  # calls completed before the shutdown
IN_FLIGHT = 6  # calls in flight when SIGTERM arrives
BATCH = "x-live-batch"
MERCHANT = {"Authorization": f"Bearer {TEST_MERCHANT_API_KEY}"}


@pytest.fixture
def ingest() -> Iterator[SentryIngest]:
    with SentryIngest() as stub:
        yield stub


@pytest.fixture
def live() -> Iterator[LiveProviders]:
    handlers = {"exotel": fakes.exotel, "openai": fakes.openai, "wasabi": fakes.wasabi}
    with LiveProviders(handlers) as providers:
        yield providers


def batch_of(transaction: dict[str, Any]) -> str | None:
    headers = (transaction.get("request") or {}).get("headers") or {}
    return next((v for k, v in headers.items() if k.lower() == BATCH), None)


def call_transactions(ingest: SentryIngest, batch: str) -> list[dict[str, Any]]:
    return [
        t
        for t in ingest.transactions
        if t.get("transaction") == "/api/calls" and batch_of(t) == batch
    ]


async def refused_while_draining(url: str, *, within: float) -> bool:
    """True once a new connection to the draining server is refused (polled, bounded; the
    caller holds the in-flight requests meanwhile, so the drain lasts at least this long)."""
    deadline = time.monotonic() + within
    # A new connection per probe: the question is whether the server still accepts them.
    limits = httpx.Limits(max_keepalive_connections=0)
    async with httpx.AsyncClient(trust_env=False, timeout=1.0, limits=limits) as fresh:
        while time.monotonic() < deadline:
            try:
                await fresh.get(url + "/api/monitoring/health")
            except httpx.ConnectError:
                return True
            except httpx.TransportError:
                pass  # e.g. accepted, then closed while shutting down: keep polling
            await asyncio.sleep(0.05)
    return False


async def test_sigterm_drains_in_flight_requests_exits_0_and_flushes_sentry(
    live: LiveProviders, ingest: SentryIngest, live_database: Path | str
) -> None:
    env = app_env(
        live,
        live_database,
        ENABLE_SENTRY="true",
        SENTRY_DSN=ingest.dsn,
        SENTRY_TRACES_SAMPLE_RATE="1.0",
        SHUTDOWN_GRACE_SECONDS=f"{GRACE:g}",
        # The held calls wait at Exotel for all six to arrive, then for the refusal check (up
        # to REFUSAL_WITHIN): the client's 10 s default could end the first one first on a slow
        # machine (202, queued). The request budget (25 s) is then what bounds them.
        PROVIDER_TIMEOUTS="exotel=60",
    )
    app = reference_app(env, ready_timeout=60)
    with app:

        def post(http: httpx.AsyncClient, batch: str, i: int) -> Any:
            body = {"order_id": f"{batch}{i}", "shop": SHOP, "phone": "+919876543210"}
            return http.post("/api/calls", json=body, headers={BATCH: batch})

        limits = httpx.Limits(keepalive_expiry=CLIENT_KEEPALIVE)
        async with httpx.AsyncClient(
            base_url=app.url, trust_env=False, timeout=30, limits=limits, headers=MERCHANT
        ) as http:
            before = [await post(http, "before", i) for i in range(BEFORE)]
            assert [r.status_code for r in before] == [201] * BEFORE, [r.text for r in before]

            # The in-flight calls wait at Exotel until released: the test, not a timer,
            # decides that they are still in flight when SIGTERM arrives and the drain starts.
            live.hold("exotel")
            calls_before = len(live.calls("exotel"))
            async with anyio.create_task_group() as tasks:
                results: dict[int, httpx.Response | BaseException] = {}

                async def one(i: int) -> None:
                    try:
                        results[i] = await post(http, "inflight", i)
                    except httpx.TransportError as exc:
                        results[i] = exc

                for i in range(IN_FLIGHT):
                    tasks.start_soon(one, i)
                # Every request is inside the app, waiting on Exotel: now stop the app.
                await anyio.to_thread.run_sync(
                    lambda: live.wait_in_flight("exotel", IN_FLIGHT, timeout=30)
                )
                # SIGTERM (and the wait for the exit) in a thread: the requests in flight and
                # the probe for refused connections keep running on this loop meanwhile.
                tasks.start_soon(
                    anyio.to_thread.run_sync, lambda: app.terminate(timeout=GRACE + 10)
                )
                try:
                    refused = await refused_while_draining(app.url, within=REFUSAL_WITHIN)
                    still_in_flight = len(results)  # answered so far: none, they are held
                finally:
                    live.release("exotel")

    assert app.exit is not None
    exit_ = app.exit
    statuses = {i: getattr(r, "status_code", repr(r)) for i, r in sorted(results.items())}
    output = app.output(3000)
    print(
        f"\n[live shutdown] SIGTERM with {IN_FLIGHT} calls held in flight at Exotel: "
        f"exit {exit_.returncode} after {exit_.seconds:.2f}s (grace {GRACE:g}s); "
        f"in-flight statuses {sorted(set(statuses.values()), key=str)}; "
        f"new connections refused while draining: {refused}; "
        f"Sentry transactions received: {len(call_transactions(ingest, 'before'))} before, "
        f"{len(call_transactions(ingest, 'inflight'))} in flight; "
        f"{len(ingest.envelopes)} envelopes, {len(ingest.rejected)} rejected"
    )
    assert set(statuses.values()) == {201}, (
        f"expected every in-flight POST /api/calls to complete with 201 during the graceful "
        f"shutdown; got {statuses}.\napp output:\n{output}"
    )
    assert len(live.calls("exotel")) - calls_before == IN_FLIGHT
    assert exit_.returncode == 0, (
        f"expected exit status 0 after SIGTERM (a graceful stop), got {exit_.returncode}.\n"
        f"app output:\n{output}"
    )
    assert exit_.seconds < GRACE, (
        f"expected the app to exit within its grace period ({GRACE:g}s) of SIGTERM; it took "
        f"{exit_.seconds:.2f}s.\napp output:\n{output}"
    )
    assert refused, (
        f"expected new connections to be refused within {REFUSAL_WITHIN:g}s of SIGTERM, while "
        f"the in-flight requests were held.\napp output:\n{output}"
    )
    assert still_in_flight == 0, "in-flight requests were answered before they were released"
    # Events captured before and during shutdown all arrived: none lost.
    assert ingest.rejected == []
    got_before = call_transactions(ingest, "before")
    got_inflight = call_transactions(ingest, "inflight")
    assert (len(got_before), len(got_inflight)) == (BEFORE, IN_FLIGHT), (
        f"expected {BEFORE} transactions from before the shutdown and {IN_FLIGHT} from the "
        f"requests that finished during it at the Sentry ingest; got {len(got_before)} and "
        f"{len(got_inflight)}.\nreceived:\n{ingest.summary()}\napp output:\n{output}"
    )
    codes = {(t.get("contexts") or {}).get("response", {}).get("status_code") for t in got_inflight}
    assert codes <= {201, None}, codes


async def test_requests_cut_off_by_the_grace_answer_503_with_retry_after(
    live: LiveProviders, tmp_path: Path
) -> None:
    """Past the grace period uvicorn cancels what still runs: those requests answer 503 with
    Retry-After (retry with the Idempotency-Key), never 500."""
    short = 2.0
    env = app_env(live, tmp_path / "calls.db", SHUTDOWN_GRACE_SECONDS=f"{short:g}")
    app = reference_app(env, ready_timeout=60)
    with app:
        async with httpx.AsyncClient(
            base_url=app.url, trust_env=False, timeout=60, headers=MERCHANT
        ) as http:
            live.hold("exotel")
            results: dict[int, httpx.Response | BaseException] = {}
            try:
                async with anyio.create_task_group() as tasks:

                    async def one(i: int) -> None:
                        body = {"order_id": f"cut{i}", "shop": SHOP, "phone": "+919876543210"}
                        try:
                            results[i] = await http.post(
                                "/api/calls", json=body, headers={"Idempotency-Key": f"cut-{i}"}
                            )
                        except httpx.TransportError as exc:
                            results[i] = exc

                    for i in range(3):
                        tasks.start_soon(one, i)
                    await anyio.to_thread.run_sync(
                        lambda: live.wait_in_flight("exotel", 3, timeout=30)
                    )
                    await anyio.to_thread.run_sync(lambda: app.terminate(timeout=short + 30))
            finally:
                live.release("exotel")
    statuses = {i: getattr(r, "status_code", repr(r)) for i, r in sorted(results.items())}
    print(f"\n[live shutdown] grace {short:g}s, 3 calls held at Exotel: statuses {statuses}")
    assert set(statuses.values()) == {503}, f"{statuses}\n{app.output(3000)}"
    for response in results.values():
        assert isinstance(response, httpx.Response)
        assert int(response.headers["retry-after"]) >= 1
        assert "x-request-id" in response.headers
