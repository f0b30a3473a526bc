"""LiveProviders, LiveServer, SentryIngest, LiveApp and run_load over real 127.0.0.1 sockets."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sentry_sdk

from pytest_hardening.live import (
    LiveApp,
    LiveAppError,
    LiveProviders,
    LiveServer,
    LiveServerError,
    SentryIngest,
    percentile,
    run_load,
)
from reference_app import fakes

pytestmark = pytest.mark.live(seconds=0.5)

CONNECT = "/v1/Accounts/acc/Calls/connect.json"
#: Bound on waiting for something that happens at once on a quiet machine (only a failing run
#: waits this long): far beyond what a machine 4x slower needs.
SETTLE = 20.0
CLIENT_TIMEOUT = 2.0  # the hang outlasts it: only this timeout ends the request
FORM = {"From": "+919876543210", "CallerId": "08012345678"}
AUTH = ("key", "token")


@pytest.fixture
def live() -> Iterator[LiveProviders]:
    with LiveProviders({"exotel": fakes.exotel, "plain": None}) as providers:
        yield providers


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(trust_env=False, timeout=SETTLE) as http:
        yield http


def place(client: httpx.Client, live: LiveProviders, **kwargs: float) -> httpx.Response:
    return client.post(live.url("exotel") + CONNECT, data=FORM, auth=AUTH, **kwargs)


def outcomes(live: LiveProviders, provider: str = "exotel") -> list[str]:
    return [call.outcome for call in live.calls(provider)]


def test_healthy_fake_is_served_over_a_real_socket(
    live: LiveProviders, client: httpx.Client
) -> None:
    assert live.url("exotel").startswith("http://127.0.0.1:")
    response = place(client, live)
    assert response.status_code == 200
    assert response.json()["Call"]["From"] == FORM["From"]
    (call,) = live.calls("exotel")
    assert call.outcome == "ok 200"
    assert call.request.url.path == CONNECT
    assert call.request.headers["authorization"].startswith("Basic ")
    # No handler: the plugin's default healthy answer.
    assert client.get(live.url("plain") + "/anything").json() == {}


def test_fail_times_then_healthy_with_the_plugins_outcome_labels(
    live: LiveProviders, client: httpx.Client
) -> None:
    live.fail("exotel", 503, times=2)
    codes = [place(client, live).status_code for _ in range(3)]
    assert codes == [503, 503, 200]
    assert outcomes(live) == ["fail 503", "fail 503", "ok 200"]


def test_garbage_is_a_200_that_does_not_parse(live: LiveProviders, client: httpx.Client) -> None:
    live.garbage("exotel", times=1)
    response = place(client, live)
    assert response.status_code == 200
    with pytest.raises(ValueError, match=r"Expecting value|Invalid|decode"):
        response.json()


def test_hang_outlasts_the_client_timeout_for_real(
    live: LiveProviders, client: httpx.Client
) -> None:
    # The hang outlasts every bound below: only the client's timeout can end the request.
    live.hang("exotel", 3 * SETTLE)
    start = time.perf_counter()
    with pytest.raises(httpx.ReadTimeout):
        # Long enough for the server thread to take the request in first on a loaded machine:
        # a client gone before that leaves no call to record.
        place(client, live, timeout=CLIENT_TIMEOUT)
    waited = time.perf_counter() - start
    assert waited >= CLIENT_TIMEOUT, f"client gave up after {waited:.3f}s, before its timeout"
    assert outcomes(live) == ["timeout ReadTimeout"]
    # The server notices the client left and releases the request long before the hang ends.
    deadline = time.monotonic() + SETTLE
    while live.in_flight("exotel") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert live.in_flight("exotel") == 0


def test_hang_that_ends_before_the_client_gives_up_answers_504(
    live: LiveProviders, client: httpx.Client
) -> None:
    live.hang("exotel", 0.1, times=1)
    assert place(client, live).status_code == 504
    assert place(client, live).status_code == 200


def test_hold_keeps_requests_in_flight_until_released(
    live: LiveProviders, client: httpx.Client
) -> None:
    import concurrent.futures

    live.hold("exotel")
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        pending = [pool.submit(place, client, live) for _ in range(2)]
        live.wait_in_flight("exotel", 2, timeout=SETTLE)
        time.sleep(0.1)  # held, not merely slow: nothing is answered while held
        assert not any(f.done() for f in pending)
        assert live.in_flight("exotel") == 2
        live.release("exotel")
        assert [f.result(timeout=SETTLE).status_code for f in pending] == [200, 200]
    # The server counts a request answered after its last byte is sent; the client can read
    # that byte first, so give the counter a bounded moment to catch up.
    deadline = time.monotonic() + SETTLE
    while live.in_flight("exotel") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert live.in_flight("exotel") == 0
    live.hold("exotel")
    live.heal("exotel")  # healing releases too
    assert place(client, live).status_code == 200


def test_delay_composes_with_a_fault_into_a_slow_failure(
    live: LiveProviders, client: httpx.Client
) -> None:
    live.fail("exotel", 503)
    live.delay("exotel", 0.4)
    start = time.perf_counter()
    assert place(client, live).status_code == 503
    assert time.perf_counter() - start >= 0.4
    # Healing drops the delay: with one far longer than the client's timeout still in place,
    # the next request would time out (no stopwatch: a slow machine cannot fake either way).
    live.delay("exotel", 3 * SETTLE)
    live.heal("exotel")
    assert place(client, live, timeout=SETTLE).status_code == 200


def test_an_answer_its_client_left_before_is_logged_as_never_delivered(
    live: LiveProviders, client: httpx.Client
) -> None:
    # A trial's: a delay past the client's timeout was logged "ok 200", which a "nothing
    # lost" check read as an answer the app got.
    live.delay("exotel", 3 * SETTLE)
    with pytest.raises(httpx.ReadTimeout):
        place(client, live, timeout=0.3)
    deadline = time.monotonic() + SETTLE  # until the server has seen the client leave
    while live.in_flight("exotel") and time.monotonic() < deadline:
        time.sleep(0.01)
    assert outcomes(live) == ["ok 200 (client gone)"]


def test_plugin_latency_fault_becomes_real_latency(
    live: LiveProviders, client: httpx.Client
) -> None:
    live.faults.latency("exotel", 0.15, times=1)
    start = time.perf_counter()
    assert place(client, live).status_code == 200
    assert time.perf_counter() - start >= 0.15
    assert outcomes(live) == ["latency 0.15s 200"]


def test_refuse_stops_listening_and_heal_listens_on_the_same_port(
    live: LiveProviders, client: httpx.Client
) -> None:
    url = live.url("exotel")
    live.refuse("exotel")
    with pytest.raises(httpx.ConnectError):
        place(client, live)
    assert live.calls("exotel") == []  # refused connections never reach the fake
    assert {"provider": "exotel", "kind": "refuse", "live": True} in live.faults.injected
    live.heal("exotel")
    assert live.url("exotel") == url
    assert place(client, live).status_code == 200


def test_sequence_maps_refuse_to_a_dropped_connection(
    live: LiveProviders, client: httpx.Client
) -> None:
    live.faults.sequence("exotel", ["refuse", 500, "ok"])
    with pytest.raises(httpx.RemoteProtocolError):
        place(client, live)
    assert [place(client, live).status_code for _ in range(2)] == [500, 200]
    assert outcomes(live) == ["sequence ConnectError", "fail 500", "ok 200"]


def test_wait_in_flight_failure_teaches(live: LiveProviders) -> None:
    with pytest.raises(AssertionError, match=r"expected 1 request\(s\) in flight.*'exotel'"):
        live.wait_in_flight("exotel", 1, timeout=0.05)
    with pytest.raises(KeyError, match=r"unknown live provider 'nope'.*\['exotel', 'plain'\]"):
        live.url("nope")


def test_an_uvicorn_too_old_for_the_live_servers_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    # A trial app pinned uvicorn ^0.13.3: its Config refused server_header with a bare TypeError.
    import uvicorn

    monkeypatch.setattr(uvicorn, "__version__", "0.13.4")
    needs = r"uvicorn 0\.13\.4 \(it needs uvicorn>=0\.22\)"
    with pytest.raises(LiveServerError, match=needs), LiveProviders({"plain": None}):
        pass


def test_sentry_ingest_receives_what_the_real_sdk_sends() -> None:
    with SentryIngest() as ingest:
        assert ingest.dsn.startswith("http://public@127.0.0.1:")
        client = sentry_sdk.Client(dsn=ingest.dsn, default_integrations=False)
        try:
            client.capture_event({"message": "live ingest works", "level": "error"})
            client.flush(timeout=5)
        finally:
            client.close(timeout=1)
        assert [e["message"] for e in ingest.events] == ["live ingest works"]
        ingest.capture.assert_captured(message="live ingest works")  # the plugin's own store
        assert ingest.rejected == []
        with httpx.Client(trust_env=False) as http:
            url = ingest.dsn.replace("public@", "")
            base, _, project = url.rpartition("/")
            assert http.post(f"{base}/api/999/envelope/", content=b"{}").status_code == 403
            bad = http.post(f"{base}/api/{project}/envelope/", content=b"\xff not an envelope")
            assert bad.status_code == 400
        assert len(ingest.rejected) == 1


def test_live_app_readiness_failure_shows_the_apps_output() -> None:
    argv = [sys.executable, "-c", "import sys; print('config refused'); sys.exit(3)"]
    with pytest.raises(LiveAppError, match=r"(?s)exited with status 3.*config refused"):
        LiveApp(argv, ready_timeout=10).start()


def test_live_app_is_offline_and_stops_on_sigterm() -> None:
    # Tries the real network first (through the proxy variables LiveApp sets), then serves.
    script = (
        "import sys, urllib.request, http.server\n"
        "try:\n"
        "    urllib.request.urlopen('http://example.com/', timeout=5)\n"
        "    print('outbound: reached the network', flush=True)\n"
        "except OSError as exc:\n"
        "    print('outbound blocked:', exc, flush=True)\n"
        "http.server.test(http.server.SimpleHTTPRequestHandler, port=int(sys.argv[1]),"
        " bind='127.0.0.1')\n"
    )
    app = LiveApp([sys.executable, "-c", script, "{port}"], ready_timeout=15)
    with app:
        with httpx.Client(trust_env=False) as http:
            assert http.get(app.url + "/").status_code == 200
        # terminate() raises if SIGTERM alone did not stop it within the bound (then SIGKILL).
        exit_ = app.terminate(timeout=SETTLE)
    assert exit_.returncode == -signal.SIGTERM, exit_
    assert "outbound blocked" in app.output(), app.output()
    assert "reached the network" not in app.output()


@pytest.mark.anyio
async def test_run_load_is_bounded_by_count_and_by_time(live: LiveProviders) -> None:
    async with httpx.AsyncClient(base_url=live.url("plain"), trust_env=False) as http:
        report = await run_load(
            lambda i: http.get(f"/n/{i}"), total=40, concurrency=8, max_seconds=10
        )
        assert len(report.samples) == 40
        assert not report.timed_out
        assert report.statuses == {200: 40}
        # Every request takes >= 0.25 s, so in 1 s each of 4 workers starts at most 5 (at
        # 0, 0.25, ..., 1.0): an upper bound set by the delay, whatever the machine's speed.
        live.delay("plain", 0.25)
        report = await run_load(
            lambda i: http.get(f"/n/{i}"), total=10_000, concurrency=4, max_seconds=1.0
        )
        assert report.timed_out
        assert 4 <= len(report.samples) <= 4 * 5, report.describe()
        assert report.p(50) >= 0.25
        live.heal("plain")
        already = len(live.calls("plain"))
        began = time.time()
        report = await run_load(
            lambda i: http.get(f"/n/{i}"),
            total=10_000,
            concurrency=2,
            max_seconds=10,
            stop=lambda: len(live.calls("plain")) >= already + 10,
        )
    assert not report.timed_out
    # Stopped by stop(): each of the 2 workers may have one request in flight and one answered
    # that the server has not logged yet (it logs after the last byte is sent) when it stops.
    assert 10 <= len(report.samples) <= 10 + 2 * 2, report.describe()
    assert all(began <= s.wall <= time.time() for s in report.samples)
    assert report.started_between(began) == report.samples
    assert report.started_between(began, began) == []


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 99) == 99.0
    assert percentile(values, 50) == 50.0
    assert percentile([0.5], 99) == 0.5
    assert percentile([], 99) == 0.0


def test_live_servers_keep_idle_connections_longer_than_clients_do() -> None:
    # uvicorn's default keep-alive equals httpx's expiry (5 s): a request sent on a connection
    # idle for almost 5 s could cross the server's close ("Server disconnected without sending
    # a response"). The servers the plugin starts outlast the client's expiry instead.
    client_expiry = httpx.Limits().keepalive_expiry
    assert client_expiry is not None
    assert LiveServer(None).keep_alive > 2 * client_expiry
    argv = LiveApp.uvicorn("module:app").argv_template
    assert float(argv[argv.index("--timeout-keep-alive") + 1]) > 2 * client_expiry


def test_an_app_is_served_by_the_interpreter_given(tmp_path: Path) -> None:
    # An app whose pins clash with the plugin's runs live from its own virtualenv.
    own = tmp_path / "app-venv" / "bin" / "python"
    assert LiveApp.uvicorn("module:app", python=own).argv_template[:3] == [
        str(own),
        "-m",
        "uvicorn",
    ]
    assert LiveApp.uvicorn("module:app").argv_template[0] == sys.executable


@pytest.mark.anyio
async def test_run_load_records_each_transport_error_and_retries_nothing(
    live: LiveProviders,
) -> None:
    live.refuse("plain")
    async with httpx.AsyncClient(base_url=live.url("plain"), trust_env=False) as http:
        report = await run_load(
            lambda i: http.get(f"/n/{i}"), total=3, concurrency=1, max_seconds=SETTLE
        )
    assert report.statuses == {"ConnectError": 3}
    assert all(s.response is None and s.detail for s in report.samples)


@pytest.mark.anyio
async def test_run_load_stops_every_worker_when_one_send_raises() -> None:
    # A trial's: a send that failed on a garbage body (not a transport error) made run_load
    # raise while its other workers went on loading the app, into the next test.
    import asyncio

    sent: list[int] = []

    async def send(i: int) -> httpx.Response:
        sent.append(i)
        await asyncio.sleep(0)
        if i == 3:
            raise ValueError("not JSON")
        return httpx.Response(200)

    with pytest.raises(ValueError, match="not JSON"):
        await run_load(send, total=200, concurrency=4, max_seconds=SETTLE)
    at_raise = len(sent)
    for _ in range(20):  # turns of the loop in which a stray worker would send again
        await asyncio.sleep(0)
    assert len(sent) == at_raise < 200


def test_live_app_relaunches_on_a_new_port_when_its_port_was_taken(tmp_path: Path) -> None:
    # The port is picked free, then the app binds it seconds later (after its imports): another
    # process may take it in between. Here the first launch meets that; the second serves.
    script = (
        "import pathlib, sys, http.server\n"
        f"marker = pathlib.Path({str(tmp_path / 'launched')!r})\n"
        "if not marker.exists():\n"
        "    marker.touch()\n"
        "    print('[Errno 98] error while attempting to bind: address already in use')\n"
        "    sys.exit(1)\n"
        "http.server.test(http.server.SimpleHTTPRequestHandler, port=int(sys.argv[1]),"
        " bind='127.0.0.1')\n"
    )
    with LiveApp([sys.executable, "-c", script, "{port}"], ready_timeout=30) as app:
        with httpx.Client(trust_env=False) as http:
            assert http.get(app.url + "/").status_code == 200
        assert "address already in use" not in app.output()  # the log is the second launch's


def test_live_app_gives_up_when_the_port_is_always_taken() -> None:
    argv = [sys.executable, "-c", "import sys; print('Address already in use'); sys.exit(1)"]
    with pytest.raises(LiveAppError, match=r"(?s)exited with status 1.*already in use"):
        LiveApp(argv, ready_timeout=10).start()
