"""httpx2 requests are served by the same FaultInjector logic as httpx: provider handlers
written for httpx, every fault as httpx2's own exceptions, the call log and the teardown report."""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import pytest

from pytest_hardening import Clock, FaultInjector, Provider
from pytest_hardening._clock_cache import ClockCache

URL = "https://api.pay.example/v2"


def echo(request: httpx.Request) -> httpx.Response:
    """A handler written for httpx, as documented: it sees an httpx.Request."""
    assert isinstance(request, httpx.Request)
    body = {"method": request.method, "path": request.url.path, "body": request.content.decode()}
    return httpx.Response(200, json=body, headers={"X-Seen": request.headers.get("X-Tag", "")})


@pytest.fixture
def injector() -> Iterator[FaultInjector]:
    with FaultInjector({"pay": Provider(URL, healthy=echo)}) as faults:
        yield faults


@pytest.fixture
def client() -> Iterator[httpx2.Client]:
    with httpx2.Client(timeout=2.0) as http:
        yield http


def test_httpx_handler_serves_sync_httpx2_client(
    injector: FaultInjector, client: httpx2.Client
) -> None:
    response = client.post(f"{URL}/charges", json={"amount": 5}, headers={"X-Tag": "t1"})
    assert isinstance(response, httpx2.Response)
    assert response.json() == {"method": "POST", "path": "/v2/charges", "body": '{"amount":5}'}
    assert response.headers["X-Seen"] == "t1"
    [call] = injector.calls("pay")
    assert (str(call.request.url), call.outcome) == (f"{URL}/charges", "ok 200")


def test_streamed_request_and_response_bodies_cross_over(injector: FaultInjector) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"part1-"
        yield b"part2"

    with httpx2.Client() as http, http.stream("PUT", f"{URL}/upload", content=chunks()) as r:
        assert r.read()
        assert r.json()["body"] == "part1-part2"


def test_async_client_mounted_and_http2_transports_are_intercepted(
    injector: FaultInjector,
) -> None:
    async def main() -> list[int]:
        mounts = {"https://api.pay.example": httpx2.AsyncHTTPTransport(retries=3)}
        async with (
            httpx2.AsyncClient(mounts=mounts) as mounted,
            httpx2.AsyncClient(http2=True) as h2,
        ):
            injector.fail("pay", 502, times=1)
            first = await mounted.get(f"{URL}/a")
            second = await h2.get(f"{URL}/b")
            return [first.status_code, second.status_code]

    assert asyncio.run(main()) == [502, 200]
    assert [c.outcome for c in injector.calls("pay")] == ["fail 502", "ok 200"]


def test_sync_mounted_transport_is_intercepted(injector: FaultInjector) -> None:
    mounts = {"all://": httpx2.HTTPTransport(http2=True)}
    with httpx2.Client(mounts=mounts) as http:
        assert http.get(f"{URL}/m").json()["path"] == "/v2/m"


def test_faults_raise_httpx2_exception_types(
    injector: FaultInjector, client: httpx2.Client
) -> None:
    injector.refuse("pay", times=1)
    with pytest.raises(httpx2.ConnectError, match="refused"):
        client.get(f"{URL}/x")
    injector.timeout("pay", kind="connect", times=1)
    with pytest.raises(httpx2.ConnectTimeout):
        client.get(f"{URL}/x")
    injector.sequence("pay", ["timeout", 429, "garbage", "ok"])
    with pytest.raises(httpx2.ReadTimeout):
        client.get(f"{URL}/x")
    assert client.get(f"{URL}/x").status_code == 429
    with pytest.raises(ValueError, match="Expecting value"):
        client.get(f"{URL}/x").json()
    assert client.get(f"{URL}/x").status_code == 200
    outcomes = [c.outcome for c in injector.calls("pay")]
    assert outcomes[:3] == ["refuse ConnectError", "timeout ConnectTimeout", "sequence ReadTimeout"]


def test_timeout_moves_the_clock_by_the_httpx2_client_timeout(clock_cache: ClockCache) -> None:
    with Clock(cache=clock_cache) as clock, FaultInjector({"pay": URL}, clock=clock) as faults:
        faults.timeout("pay")
        with httpx2.Client(timeout=7.5) as http, pytest.raises(httpx2.ReadTimeout):
            http.get(f"{URL}/slow")
        assert clock.advanced == 7.5


def test_handler_may_return_an_httpx2_response() -> None:
    def native(request: httpx.Request) -> httpx2.Response:
        return httpx2.Response(418, json={"brewed": True})

    providers = {
        "tea": Provider("https://tea.example", healthy=native),
        "fixed": Provider("https://fixed.example", healthy=httpx2.Response(202, text="queued")),
    }
    with FaultInjector(providers) as faults:
        with httpx2.Client() as http2_client:
            assert http2_client.get("https://tea.example/pot").json() == {"brewed": True}
            assert http2_client.get("https://fixed.example/").text == "queued"
        with httpx.Client() as http1_client:  # httpx clients get it converted
            assert http1_client.get("https://tea.example/pot").json() == {"brewed": True}
            assert http1_client.get("https://fixed.example/").text == "queued"
        assert [c.outcome for c in faults.calls("tea")] == ["ok 418", "ok 418"]


def test_unregistered_httpx2_host_fails_report_although_swallowed(
    injector: FaultInjector, client: httpx2.Client
) -> None:
    with contextlib.suppress(httpx2.ConnectError):  # the app swallows it
        client.get("https://tracker.example.net/beacon")
    report = injector.problems_report()
    assert report is not None
    assert "GET https://tracker.example.net/beacon" in report
    assert "not registered providers" in report


def test_asgi_transport_is_left_alone(injector: FaultInjector) -> None:
    async def app(scope: dict[str, object], receive: object, send: object) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})  # type: ignore[operator]
        await send({"type": "http.response.body", "body": b""})  # type: ignore[operator]

    async def main() -> int:
        transport = httpx2.ASGITransport(app=app)
        async with httpx2.AsyncClient(transport=transport, base_url="http://app") as http:
            return (await http.get("/")).status_code

    assert asyncio.run(main()) == 204
    assert injector.calls("pay") == []
    assert injector.problems_report() is None


def test_stop_restores_httpx2_transports() -> None:
    before = httpx2.HTTPTransport.handle_request, httpx2.AsyncHTTPTransport.handle_async_request
    with FaultInjector({"pay": URL}):
        assert httpx2.HTTPTransport.handle_request is not before[0]
    after = httpx2.HTTPTransport.handle_request, httpx2.AsyncHTTPTransport.handle_async_request
    assert after == before


def test_stream_faults_reach_httpx2_as_httpx2_errors(clock_cache: ClockCache) -> None:
    events = b"".join(f"data: {i}\n\n".encode() for i in range(5))
    healthy = httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content=events)
    with (
        Clock(cache=clock_cache) as clock,
        FaultInjector({"sse": Provider(URL, healthy)}, clock=clock) as faults,
    ):
        faults.stream_cut("sse", after=2)
        seen: list[str] = []
        with (
            httpx2.Client() as http,
            pytest.raises(httpx2.RemoteProtocolError),
            http.stream("GET", f"{URL}/events") as response,
        ):
            seen.extend(line for line in response.iter_lines() if line)
        assert seen == ["data: 0", "data: 1"]
        faults.stream_stall("sse", after=4)
        with httpx2.Client(timeout=12) as http, pytest.raises(httpx2.ReadTimeout):
            http.get(f"{URL}/events")
        assert clock.advanced == 12
        assert [c.outcome for c in faults.calls("sse")] == [
            "stream_cut 200 (2/5 events delivered)",
            "stream_stall 200 (4/5 events delivered)",
        ]


def test_injector_runs_without_httpx2_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "httpx2", None)  # `import httpx2` now fails
    original = httpx2.HTTPTransport.handle_request
    with FaultInjector({"pay": Provider(URL, healthy=echo)}) as faults, httpx.Client() as http:
        assert http.get(f"{URL}/x").json()["path"] == "/v2/x"
        assert httpx2.HTTPTransport.handle_request is original  # nothing patched
    assert [c.outcome for c in faults.calls("pay")] == ["ok 200"]


def test_stream_faults_reach_async_httpx_and_httpx2_alike() -> None:
    events = b"".join(f"data: {i}\n\n".encode() for i in range(4))
    healthy = httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content=events)

    async def lines(client: Any) -> tuple[list[str], str]:
        seen: list[str] = []
        try:
            async with client.stream("GET", f"{URL}/events") as response:
                async for line in response.aiter_lines():
                    if line:
                        seen.append(line)
        except Exception as error:
            return seen, type(error).__module__.split(".")[0] + "." + type(error).__name__
        return seen, "complete"

    async def main(faults: FaultInjector) -> list[tuple[list[str], str]]:
        results = []
        async with httpx.AsyncClient() as http1, httpx2.AsyncClient() as http2:
            for client in (http1, http2):
                faults.stream_cut("sse", after=1, times=1)
                results.append(await lines(client))
                faults.stream_malformed("sse", after=2, event=b"data: {oops\n\n", times=1)
                results.append(await lines(client))
        return results

    with FaultInjector({"sse": Provider(URL, healthy)}) as faults:
        cut = (["data: 0"], "httpx.RemoteProtocolError")
        malformed = (["data: 0", "data: 1", "data: {oops", "data: 2", "data: 3"], "complete")
        cut2 = (["data: 0"], "httpx2.RemoteProtocolError")
        assert asyncio.run(main(faults)) == [cut, malformed, cut2, malformed]
        assert [c.outcome for c in faults.calls("sse")] == [
            "stream_cut 200 (1/4 events delivered)",
            "stream_malformed 200 (4/4 events delivered)",
        ] * 2


def test_a_stream_left_before_its_fault_is_logged_as_abandoned(clock_cache: ClockCache) -> None:
    # The call log said "stream_cut 200 (3/9 events delivered)" of a stream whose reader left
    # after three events, the cut set after six: a cut that never happened (a trial's).
    events = b"".join(f"data: {i}\n\n".encode() for i in range(9))
    healthy = httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content=events)
    with (
        Clock(cache=clock_cache) as clock,
        FaultInjector({"sse": Provider(URL, healthy)}, clock=clock) as faults,
    ):
        faults.stream_cut("sse", after=6)
        faults.allow_unused()
        with httpx.Client() as http, http.stream("GET", f"{URL}/events") as response:
            lines = response.iter_lines()
            assert [next(lines) for _ in range(5)] == ["data: 0", "", "data: 1", "", "data: 2"]
    [call] = faults.calls("sse")
    assert (
        call.outcome
        == "stream_cut 200 (abandoned after 3/9 events: the stream_cut after 6 not reached)"
    )
