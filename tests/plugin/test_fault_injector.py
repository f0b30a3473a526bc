"""FaultInjector and Provider used directly with httpx clients (sync and async)."""

from __future__ import annotations

import asyncio
import sys

import httpx
import pytest
import respx

from pytest_hardening import Clock, FaultInjector, Provider, UnregisteredHostError
from pytest_hardening._clock_cache import ClockCache

from ._sleeps import no_real_sleep  # noqa: F401 (a fixture)

PROVIDERS = {
    "pay": "https://api.pay.example/v2",
    "shop": Provider("https://*.shop.example", healthy=httpx.Response(201, json={"ok": True})),
    "maps": "maps.example",
}


@pytest.fixture
def injector() -> FaultInjector:
    with FaultInjector(PROVIDERS, seed=7) as faults:
        yield faults


@pytest.fixture
def http() -> httpx.Client:
    # One client per test: building an SSL context per request would dominate the run time.
    with httpx.Client(timeout=2.0) as client:
        yield client


def test_answers_come_as_from_the_network_with_their_elapsed_time(
    injector: FaultInjector, http: httpx.Client
) -> None:
    # An app that logs `r.elapsed` got a RuntimeError ("'.elapsed' may only be accessed after
    # the response has been read or closed") only under the faults: the answers came read.
    import httpx2

    injector.sequence("pay", ["ok", 503])
    for response in (http.get("https://api.pay.example/v2/a"), http.get(f"{PAY}/b")):
        assert response.elapsed.total_seconds() >= 0
        assert response.content is not None

    async def both() -> list[float]:
        async with httpx.AsyncClient() as one, httpx2.AsyncClient() as two:
            answers = [await one.get(f"{PAY}/c"), await two.get(f"{PAY}/d")]
        return [a.elapsed.total_seconds() for a in answers]

    assert all(seconds >= 0 for seconds in asyncio.run(both()))
    assert httpx2.get(f"{PAY}/e").elapsed.total_seconds() >= 0


PAY = "https://api.pay.example/v2"


def test_provider_patterns_match_prefix_wildcard_and_host() -> None:
    pay, shop, maps = (Provider(p) if isinstance(p, str) else p for p in PROVIDERS.values())
    assert pay.matches(httpx.URL("https://api.pay.example/v2/charges"))
    assert not pay.matches(httpx.URL("https://api.pay.example/v20"))
    assert not pay.matches(httpx.URL("http://api.pay.example/v2/charges"))
    assert shop.matches(httpx.URL("https://acme.shop.example/admin"))
    assert not shop.matches(httpx.URL("https://acme.shop.example.evil.com/"))
    assert maps.matches(httpx.URL("http://maps.example:80/tiles"))


def test_provider_declarations_accept_pairs_and_reject_nonsense(http: httpx.Client) -> None:
    pair = ("https://api.pair.example", lambda request: httpx.Response(202))
    with FaultInjector({"pair": pair}):
        assert http.get("https://api.pair.example/x").status_code == 202
    with pytest.raises(TypeError, match="hardening_providers\\['bad'\\]"):
        FaultInjector({"bad": 42})  # type: ignore[dict-item]


def test_healthy_answers_and_call_log(injector: FaultInjector, http: httpx.Client) -> None:
    assert http.get("https://api.pay.example/v2/charges").json() == {}
    assert http.get("https://acme.shop.example/orders").status_code == 201
    assert http.get("https://acme.shop.example/orders").json() == {"ok": True}  # reusable response
    [call] = injector.calls("pay")
    assert (str(call.request.url), call.outcome) == ("https://api.pay.example/v2/charges", "ok 200")
    assert len(injector.calls("shop")) == 2


def test_every_fault_kind(injector: FaultInjector, http: httpx.Client) -> None:
    url = "https://api.pay.example/v2/x"
    injector.fail("pay", 500, times=1)
    assert http.get(url).status_code == 500
    injector.rate_limit("pay", retry_after=12, times=1)
    limited = http.get(url)
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "12")
    injector.garbage("pay", times=1)
    garbled = http.get(url)
    with pytest.raises(ValueError, match="Expecting value"):
        garbled.json()
    injector.refuse("pay", times=1)
    with pytest.raises(httpx.ConnectError):
        http.get(url)
    injector.timeout("pay", kind="connect", times=1)
    with pytest.raises(httpx.ConnectTimeout):
        http.get(url)
    assert http.get(url).status_code == 200
    assert [c.outcome for c in injector.calls("pay")] == [
        "fail 500",
        "rate_limit 429",
        "garbage 200",
        "refuse ConnectError",
        "timeout ConnectTimeout",
        "ok 200",
    ]


def test_fault_until_healed_and_heal_all(injector: FaultInjector, http: httpx.Client) -> None:
    injector.fail("pay")
    injector.fail("maps", 502)
    assert [http.get("https://api.pay.example/v2/x").status_code for _ in range(3)] == [503] * 3
    injector.heal("pay")
    assert http.get("https://api.pay.example/v2/x").status_code == 200
    assert http.get("https://maps.example/x").status_code == 502
    injector.heal()
    assert http.get("https://maps.example/x").status_code == 200


def test_sequence_script(injector: FaultInjector, http: httpx.Client) -> None:
    injector.sequence("pay", [503, httpx.ReadTimeout, "ok", "refuse"])
    url = "https://api.pay.example/v2/x"
    assert http.get(url).status_code == 503
    with pytest.raises(httpx.ReadTimeout):
        http.get(url)
    assert http.get(url).status_code == 200
    with pytest.raises(httpx.ConnectError):
        http.get(url)
    assert http.get(url).status_code == 200  # script done: healthy
    with pytest.raises(ValueError, match="unsupported"):
        injector.sequence("pay", ["explode"])


@pytest.mark.usefixtures("no_real_sleep")  # without a clock, no real wait either
def test_a_timeout_in_a_sequence_takes_the_clients_timeout_in_virtual_time(
    clock_cache: ClockCache,
) -> None:
    # As faults.timeout does: the client waited its own timeout of that kind before failing.
    with Clock(cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock) as faults:
        faults.sequence("pay", [httpx.ReadTimeout, "timeout", httpx.ConnectTimeout, 503])
        url = "https://api.pay.example/v2/x"
        timeout = httpx.Timeout(10.0, connect=2.5)
        with httpx.Client(timeout=timeout) as client:
            for _ in range(3):
                with pytest.raises(httpx.TimeoutException):
                    client.get(url)
            assert client.get(url).status_code == 503  # no time passes for an answer
        assert clock.advanced == 10.0 + 10.0 + 2.5
    with FaultInjector(PROVIDERS) as faults, httpx.Client() as client:  # no clock: at once
        faults.sequence("pay", ["timeout"])
        with pytest.raises(httpx.ReadTimeout):
            client.get("https://api.pay.example/v2/x")


def test_random_is_reproducible_from_the_seed(http: httpx.Client) -> None:
    def run(seed: int) -> list[int]:
        with FaultInjector(PROVIDERS, seed=seed) as faults:
            faults.random("pay", 0.5)
            return [http.get("https://api.pay.example/v2/x").status_code for _ in range(40)]

    first = run(1)
    assert first == run(1)
    assert first != run(2)
    assert 5 < first.count(503) < 35


def test_unregistered_host_gets_connect_error_and_is_reported(
    injector: FaultInjector, http: httpx.Client
) -> None:
    with pytest.raises(UnregisteredHostError):
        http.get("https://elsewhere.example/leak")
    report = injector.unregistered_report()
    assert report is not None
    assert "https://elsewhere.example/leak" in report
    assert "pay: https://api.pay.example/v2" in report


def test_a_token_in_an_unregistered_urls_query_is_never_shown(
    injector: FaultInjector, http: httpx.Client
) -> None:
    # A trial's: the error raised into the app (which logged it) and the chaos report (text,
    # JSON, HTML, the files a CI uploads) printed `?token=` in full.
    with pytest.raises(UnregisteredHostError) as info:
        http.get("https://rates.example/series?mediaType=json&token=REAL-SECRET-abc123")
    report = injector.unregistered_report()
    assert report is not None
    for said in (str(info.value), report):
        assert "REAL-SECRET" not in said
        assert "https://rates.example/series?mediaType=json&token=…" in said


def test_an_unregistered_host_the_environment_names_is_traced_to_its_variable(
    injector: FaultInjector, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An SDK's base URL from the developer's shell sends its calls elsewhere on one machine
    monkeypatch.setenv("OPENAI_BASE_URL", "https://gateway.corp.example/v1")
    monkeypatch.setenv("NOT_IT", "https://sub.gateway.corp.example.net")  # another host
    with pytest.raises(UnregisteredHostError):
        http.post("https://gateway.corp.example/v1/chat/completions")
    report = injector.unregistered_report() or ""
    assert "the environment names these hosts" in report
    assert "  gateway.corp.example: OPENAI_BASE_URL\n" in report
    assert "NOT_IT" not in report
    assert "give it the provider's URL in hardening_dev_env" in report


def test_a_test_that_checks_unregistered_hosts_itself_can_allow_them(
    injector: FaultInjector, http: httpx.Client
) -> None:
    injector.allow_unregistered()
    with pytest.raises(UnregisteredHostError):  # still never sent
        http.get("https://elsewhere.example/leak")
    assert [str(r.url) for r in injector.unregistered] == ["https://elsewhere.example/leak"]
    assert injector.unregistered_report() is None
    assert injector.problems_report() is None


def test_unknown_provider_name_lists_the_known_ones(injector: FaultInjector) -> None:
    with pytest.raises(KeyError, match="registered providers"):
        injector.fail("nope")


def test_latency_moves_an_attached_clock_instead_of_sleeping(
    http: httpx.Client, clock_cache: ClockCache
) -> None:
    with Clock(cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock) as faults:
        start = clock.monotonic()
        faults.latency("pay", 1.25)
        assert http.get("https://api.pay.example/v2/x").status_code == 200
        assert clock.monotonic() - start == pytest.approx(1.25)
        faults.latency("pay", 30)
        with pytest.raises(httpx.ReadTimeout):
            http.get("https://api.pay.example/v2/x")
        assert clock.monotonic() - start == pytest.approx(3.25)  # + the 2 s read timeout


@pytest.mark.anyio
async def test_async_clients_are_intercepted(injector: FaultInjector) -> None:
    injector.fail("pay", 504, times=1)
    async with httpx.AsyncClient() as client:
        assert (await client.get("https://api.pay.example/v2/a")).status_code == 504
        assert (await client.get("https://api.pay.example/v2/a")).status_code == 200


def test_asgi_test_traffic_is_never_intercepted(injector: FaultInjector) -> None:
    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        assert scope["type"] == "http"
        await send({"type": "http.response.start", "status": 204, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    from starlette.testclient import TestClient

    assert TestClient(app).get("https://api.pay.example/v2/x").status_code == 204
    assert injector.calls("pay") == []
    assert injector.unregistered == []


def test_stop_removes_the_router() -> None:
    faults = FaultInjector(PROVIDERS).start()
    assert respx.mocks.HTTPCoreMocker.routers
    faults.stop()
    assert respx.mocks.HTTPCoreMocker.routers == []


@pytest.mark.anyio
async def test_latency_in_async_code_without_a_clock_is_reported(injector: FaultInjector) -> None:
    injector.latency("pay", 5)
    async with httpx.AsyncClient() as client:
        with pytest.raises(RuntimeError, match="clock"):
            await client.get("https://api.pay.example/v2/a")
    report = injector.problems_report()
    assert report is not None
    assert "add the `clock` fixture" in report


def test_respond_serves_faults_to_any_transport(injector: FaultInjector) -> None:
    # What live fake-provider servers do: answer through the injector without respx.
    injector.fail("pay", 502, times=1)
    injector.refuse("shop", times=1)
    with httpx.Client(transport=httpx.MockTransport(injector.respond)) as client:
        assert client.get("https://api.pay.example/v2/a").status_code == 502
        assert client.get("https://api.pay.example/v2/b").status_code == 200
        with pytest.raises(httpx.ConnectError):
            client.get("https://acme.shop.example/orders")
        assert client.get("https://acme.shop.example/orders").status_code == 201
        with pytest.raises(UnregisteredHostError):
            client.get("https://elsewhere.example/")
    assert [c.outcome for c in injector.calls("pay")] == ["fail 502", "ok 200"]
    assert injector.unregistered_report() is not None


def test_a_respx_router_the_test_starts_later_answers_its_own_hosts(
    injector: FaultInjector, http: httpx.Client
) -> None:
    # respx asks routers in the order they started: the injector's catch-all one came first.
    with respx.mock(assert_all_called=False) as mine:
        mine.get("https://internal.example/users/1").respond(207)
        assert http.get("https://internal.example/users/1").status_code == 207
        assert http.get("https://api.pay.example/v2/charges").status_code == 200  # a provider
        with pytest.raises(UnregisteredHostError):
            http.get("https://nobody.example/")  # routed by no router: unregistered, as ever
        assert mine.calls.call_count == 1
    assert [str(r.url) for r in injector.unregistered] == ["https://nobody.example/"]
    assert [c.outcome for c in injector.calls("pay")] == ["ok 200"]


def _forget_httpx_aiohttp(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next ``import httpx_aiohttp`` imports it afresh (its classes new), as an app's
    first import would; the modules are put back after the test."""
    for name in [m for m in sys.modules if m.partition(".")[0] == "httpx_aiohttp"]:
        monkeypatch.delitem(sys.modules, name)


async def _three_calls(client: httpx.AsyncClient, injector: FaultInjector) -> list[object]:
    healthy = await client.get("https://eu.shop.example/orders")
    injector.fail("shop", 503)
    failed = await client.get("https://eu.shop.example/orders")
    injector.timeout("shop")
    with pytest.raises(httpx.ReadTimeout):
        await client.get("https://eu.shop.example/orders")
    return [healthy.json(), failed.status_code]


def test_httpx_over_aiohttp_meets_the_fakes_and_the_faults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # httpx-aiohttp: an httpx transport that reaches the network without httpcore (respx's
    # seam), here imported after the injector started, as an app's build may import it.
    _forget_httpx_aiohttp(monkeypatch)
    with FaultInjector(PROVIDERS) as injector:
        from httpx_aiohttp import AiohttpTransport

        injector.intercept_imported()
        transport = AiohttpTransport()

        async def main() -> list[object]:
            async with httpx.AsyncClient(transport=transport, timeout=2.0) as client:
                return await _three_calls(client, injector)

        assert asyncio.run(main()) == [{"ok": True}, 503]
        assert transport.client is None  # no aiohttp session was opened
        outcomes = [call.outcome for call in injector.calls("shop")]
        assert outcomes == ["ok 201", "fail 503", "timeout ReadTimeout"]
        assert injector.problems_report() is None
    assert "handle_async_request" in vars(AiohttpTransport)  # its own method, put back


def test_the_harness_reaches_a_transport_the_apps_build_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pytest_hardening import Harness

    _forget_httpx_aiohttp(monkeypatch)

    def create_app() -> object:
        from httpx_aiohttp import AiohttpTransport  # first imported here, by the build

        client = httpx.AsyncClient(transport=AiohttpTransport(), timeout=2.0)

        async def app(scope: dict[str, object], receive: object, send: object) -> None:
            assert scope["type"] == "http"
            response = await client.get("https://eu.shop.example/orders")
            await send({"type": "http.response.start", "status": response.status_code})
            await send({"type": "http.response.body", "body": response.content})

        return app

    with Harness() as harness:
        injector = harness.fake_providers(PROVIDERS)
        harness.build(create_app, {})
        assert harness.client().get("/").json() == {"ok": True}
        assert injector.problems_report() is None


def test_a_fault_no_call_met_is_reported_whether_counted_or_until_healed() -> None:
    with FaultInjector(PROVIDERS) as injector:
        injector.fail("pay", 500)  # until healed
        injector.timeout("shop", times=2)
        report = injector.unused_report()
        assert report is not None
        assert "2 fault(s) were never triggered" in report
        assert "fail on provider 'pay' (status=500): never triggered" in report
        assert "timeout on provider 'shop' (times=2, timeout='read'): never triggered" in report
        # What usually keeps a request from its provider, the settings read at import included,
        # and a client faults do not answer, under its own mock (a trial's requests + responses).
        assert "settings the app built at import" in report
        assert "requests, urllib3, aiohttp or boto3, under a mock of its own such as " in report
        # Or an httpx mock of the test's own that answered first (a trial's pytest-httpx).
        assert "pytest-httpx's httpx_mock (without should_mock) or an httpx.MockTransport" in (
            report
        )
        with httpx.Client(transport=httpx.MockTransport(injector.respond)) as client:
            assert client.get("https://api.pay.example/v2/a").status_code == 500
        report = injector.unused_report()
        assert report is not None
        assert "'pay'" not in report  # one call met it: exercised
        injector.heal("shop")  # healed before any call: the test's own decision
        assert injector.unused_report() is None
        injector.refuse("shop", times=0)  # asks for no call
        assert injector.unused_report() is None
        injector.latency("pay", 3.0)  # replaces the taken fault: armed anew, and not met
        assert "latency on provider 'pay'" in (injector.unused_report() or "")
        injector.allow_unused()
        assert injector.unused_report() is None  # opted out


def test_a_fault_replaced_before_any_call_is_reported(http: httpx.Client) -> None:
    # Faults do not queue: the second replaces the first, which then never ran.
    with FaultInjector(PROVIDERS) as faults:
        faults.timeout("pay", times=2)
        faults.refuse("pay", times=1)
        with pytest.raises(httpx.ConnectError):
            http.get("https://api.pay.example/v2/x")
        report = faults.problems_report()
        assert report is not None
        assert "timeout on provider 'pay' (times=2, timeout='read'): replaced by refuse" in report
        assert "faults.sequence('pay', [...])" in report
        faults.fail("pay", 503)
        faults.heal("pay")  # healed before any call: the test's own decision, not reported
        assert "fail on provider" not in (faults.problems_report() or "")


def test_the_call_history_never_prints_a_query(injector: FaultInjector, http: httpx.Client) -> None:
    # API tokens travel in queries (?auth_token=...); failure messages print this history.
    http.get("https://api.pay.example/v2/charge", params={"auth_token": "tok_live_8Hq2mZ9x"})
    history = injector.history("pay")
    assert "tok_live_8Hq2mZ9x" not in history
    assert "GET https://api.pay.example/v2/charge?… -> ok 200" in history


def test_a_delivered_timeout_did_the_work_and_lost_the_answer(http: httpx.Client) -> None:
    written: list[bytes] = []

    def notes(request: httpx.Request) -> httpx.Response:
        written.append(request.content)
        return httpx.Response(201, json={"id": len(written)})

    with FaultInjector({"notes": Provider("https://notes.example", notes)}) as faults:
        faults.timeout("notes", delivered=True, times=1)
        with pytest.raises(httpx.ReadTimeout, match="the provider answered 201"):
            http.post("https://notes.example/n", content=b"hello")
        http.post("https://notes.example/n", content=b"hello")  # the client's retry
        outcomes = [c.outcome for c in faults.calls("notes")]
    assert written == [b"hello", b"hello"]  # done twice: what an idempotency key must prevent
    assert outcomes == ["timeout ReadTimeout after the provider answered 201", "ok 201"]
    with pytest.raises(ValueError, match="use kind='read'"):
        faults.timeout("notes", kind="connect", delivered=True)


def test_every_answer_is_dated_by_the_clock(http: httpx.Client, clock_cache: ClockCache) -> None:
    # An HTTP cache (hishel) ages its entries from the Date header: without one, an entry
    # never expired however far the clock moved.
    import datetime as dt
    from email.utils import parsedate_to_datetime

    start = dt.datetime(2026, 1, 4, 12, tzinfo=dt.timezone.utc)
    with Clock(start, cache=clock_cache) as clock, FaultInjector(PROVIDERS, clock=clock) as faults:
        first = http.get("https://api.pay.example/v2/charges")
        clock.advance(120)
        faults.fail("pay", 503)
        failed = http.get("https://api.pay.example/v2/charges")
    assert parsedate_to_datetime(first.headers["date"]) == start
    assert parsedate_to_datetime(failed.headers["date"]) == start + dt.timedelta(seconds=120)
    own = Provider("https://own.example", healthy=httpx.Response(200, headers={"Date": "x"}))
    with FaultInjector({"own": own}):
        assert http.get("https://own.example/").headers["date"] == "x"  # the handler's own


def test_a_retried_request_to_an_unregistered_host_is_listed_once(
    injector: FaultInjector, http: httpx.Client
) -> None:
    for _ in range(4):  # a retrying transport sends it again
        with pytest.raises(UnregisteredHostError):
            http.get("https://api.pay.exampel/v2/charges")
    report = injector.unregistered_report()
    assert report is not None
    assert report.count("GET https://api.pay.exampel/v2/charges") == 1
    assert "(×4: retried)" in report


@pytest.mark.parametrize("fault", ["timeout", "stream_stall"])
def test_a_fault_that_waits_for_a_timeout_the_client_lacks_fails_the_test(
    clock_cache: ClockCache, fault: str
) -> None:
    # A relay's client made with timeout=None, against a provider that stops answering:
    # production waits for ever. The fault had raised a ReadTimeout no such client can raise
    # (timeout) or a ValueError of its own into the app (stream_stall): an app that caught it
    # passed (a trial's).
    events = b"".join(f"data: {i}\n\n".encode() for i in range(3))
    stream = httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content=events)
    sse = Provider("https://sse.example", stream)
    with (
        Clock(cache=clock_cache) as clock,
        FaultInjector({"sse": sse}, clock=clock) as faults,
    ):
        if fault == "timeout":
            faults.timeout("sse")
        else:
            faults.stream_stall("sse", after=1)
        no_timeout = httpx.Client(timeout=None)  # noqa: S113 (the case under test)
        with no_timeout as client, pytest.raises(httpx.ReadTimeout) as raised:
            client.get("https://sse.example/events")
        assert clock.advanced == 0  # no timeout to pass
        report = faults.problems_report()
    assert report is not None
    said = "a request to sse.example with no read timeout (an httpx client made with timeout=None)"
    assert said in str(raised.value)
    assert said in report
    assert "give that client a read timeout (httpx.Timeout)" in report
