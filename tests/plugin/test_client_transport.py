"""The harness's sync client serves each request in one call into the app's loop, yet the
app sees what Starlette's ``TestClient`` shows it, and the client gets what ``TestClient``
gives: whole answers after background tasks, 500s, HEAD, lifespan state, debug info,
websockets, and streamed bodies (endless ones too) handed over as they come."""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from pytest_hardening import Harness


class Seen:
    """What the app saw: scopes, background work, streams it was made to stop."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []
        self.background: list[str] = []
        self.stopped_streams = 0


def starlette_app(seen: Seen) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, str]]:
        yield {"token": "from-lifespan"}

    async def echo(request: Request) -> JSONResponse:
        scope = {k: v for k, v in request.scope.items() if k in SCOPE_KEYS}
        seen.scopes.append(scope)
        body = (await request.body()).decode()
        task = BackgroundTask(seen.background.append, body)
        return JSONResponse({"token": request.state.token, "body": body}, background=task)

    async def boom(request: Request) -> None:
        raise RuntimeError("the app failed")

    async def endless(scope: dict[str, Any], receive: Any, send: Any) -> None:
        headers = [(b"content-type", b"text/event-stream")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        try:
            for n in itertools.count():
                event = f"data: {n}\n\n".encode()
                await send({"type": "http.response.body", "body": event, "more_body": True})
        finally:
            seen.stopped_streams += 1

    async def finite(request: Request) -> StreamingResponse:
        return StreamingResponse(iter(["a", "b", "c"]), media_type="text/plain")

    def failing_parts() -> Iterator[str]:
        yield "a"
        raise LookupError("the stream's source went away")

    async def broken(request: Request) -> StreamingResponse:
        return StreamingResponse(failing_parts(), media_type="text/plain")

    async def started(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 201, "headers": []})
        raise RuntimeError("no body")

    def fail() -> None:
        raise RuntimeError("the background task failed")

    async def then_fails(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True}, background=BackgroundTask(fail))

    async def streamed_then_fails(request: Request) -> StreamingResponse:
        # As any answer through a BaseHTTPMiddleware: streamed, then its background task.
        parts = iter(["a", "b"])
        return StreamingResponse(parts, media_type="text/plain", background=BackgroundTask(fail))

    async def quiet_stream(request: Request) -> StreamingResponse:
        async def events() -> AsyncIterator[str]:
            seen.background.append("quiet stream started")
            try:
                await anyio.Event().wait()  # an SSE endpoint before its first event
                yield "data: never\n\n"
            finally:
                seen.stopped_streams += 1

        return StreamingResponse(events(), media_type="text/event-stream")

    async def cleaned_up(request: Request) -> StreamingResponse:
        async def events() -> AsyncIterator[str]:
            for n in itertools.count():
                yield f"data: {n}\n\n"
                await anyio.sleep(0)

        cleanup = BackgroundTask(seen.background.append, "upstream closed")
        return StreamingResponse(events(), media_type="text/event-stream", background=cleanup)

    async def socket(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text(f"hello {await websocket.receive_text()}")
        await websocket.close()

    routes = [
        Route("/echo/{rest:path}", echo, methods=["GET", "POST", "HEAD"]),
        Route("/boom", boom),
        Mount("/endless", endless),
        Route("/finite", finite),
        Route("/broken", broken),
        Mount("/started", started),
        Route("/then-fails", then_fails),
        Route("/streamed-then-fails", streamed_then_fails),
        Route("/quiet-stream", quiet_stream),
        Route("/cleaned-up", cleaned_up),
        WebSocketRoute("/ws", socket),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


SCOPE_KEYS = (
    "type",
    "http_version",
    "method",
    "path",
    "raw_path",
    "root_path",
    "scheme",
    "query_string",
    "headers",
    "client",
    "server",
    "extensions",
)


@pytest.fixture
def seen() -> Seen:
    return Seen()


@pytest.fixture
def client(seen: Seen) -> Iterator[Any]:
    with Harness() as harness:
        harness.build(lambda: starlette_app(seen), {})
        yield harness.client()


def test_the_app_sees_the_scope_starlettes_test_client_builds(client: Any, seen: Seen) -> None:
    reference = TestClient(starlette_app(seen), raise_server_exceptions=False)
    with reference:
        for http in (reference, client):
            http.post("/echo/a%2Fb?x=1&y=%20", content=b"hi", headers={"X-Trace": "t"})
    ours, theirs = seen.scopes[1], seen.scopes[0]
    assert ours == theirs
    assert ours["path"] == "/echo/a/b"
    assert ours["raw_path"] == b"/echo/a%2Fb"
    assert ours["query_string"] == b"x=1&y=%20"


def test_an_answer_comes_back_whole_after_its_background_task(client: Any, seen: Seen) -> None:
    response = client.post("/echo/x", content=b"payload")
    assert response.json() == {"token": "from-lifespan", "body": "payload"}
    assert seen.background == ["payload"], "the background task ran before the call returned"


def test_an_app_error_is_a_500_and_head_has_no_body(client: Any) -> None:
    assert client.get("/boom").status_code == 500
    head = client.head("/echo/x")
    assert head.status_code == 200
    assert head.content == b""
    assert int(head.headers["content-length"]) > 0


def test_a_finite_stream_is_read_whole(client: Any) -> None:
    assert client.get("/finite").text == "abc"
    with client.stream("GET", "/finite") as response:
        assert list(response.iter_text()) == ["a", "b", "c"]


def test_a_body_the_app_fails_part_way_is_cut_as_a_server_cuts_it(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # A server closes the connection where the app failed: its client finds the body
    # incomplete. (Starlette's TestClient hands the cut body over as a whole 200.)
    with pytest.raises(Exception, match=r"the app failed after answering 200") as cut:
        client.get("/broken")
    assert type(cut.value).__name__ == "RemoteProtocolError"
    assert isinstance(cut.value.__cause__, LookupError)
    (record,) = [r for r in caplog.records if r.name == "pytest_hardening.app"]
    assert "GET /broken (the client was answered 200" in record.getMessage()
    with client.stream("GET", "/broken") as response:  # read as it comes: up to the cut
        parts = response.iter_text()
        assert (response.status_code, next(parts)) == (200, "a")
        with pytest.raises(Exception, match="the body ends where it failed"):
            next(parts)


def test_an_app_that_fails_after_its_start_message_is_cut_too(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    for _ in range(5):  # whichever way the client met the failure, the log says it was cut
        with pytest.raises(Exception, match=r"answering 201 \(RuntimeError: no body\)") as cut:
            client.get("/started")
        assert type(cut.value).__name__ == "RemoteProtocolError"
    said = [r.getMessage() for r in caplog.records if r.name == "pytest_hardening.app"]
    assert len(said) == 5
    assert all("answered 201, its body cut where the app failed" in line for line in said), said


def test_a_whole_body_then_a_failing_background_task_is_still_the_answer(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # The body was sent whole: the client has it; the failure is the server's to log.
    response = client.get("/then-fails")
    assert (response.status_code, response.json()) == (200, {"ok": True})
    assert any(r.name == "pytest_hardening.app" for r in caplog.records)


def test_a_whole_streamed_body_then_a_failing_background_task_is_not_said_cut(
    client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # The log said "its body cut where the app failed" of a whole body (a trial's app).
    response = client.get("/streamed-then-fails")
    assert (response.status_code, response.text) == (200, "ab")
    (record,) = [r for r in caplog.records if r.name == "pytest_hardening.app"]
    assert "GET /streamed-then-fails (the client was answered 200)" in record.getMessage()


def test_an_endless_stream_is_handed_over_and_stopped_when_the_client_leaves(
    client: Any, seen: Seen
) -> None:
    with client.stream("GET", "/endless") as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        events = [line for line in itertools.islice(lines, 8) if line]
    assert events == [f"data: {n}" for n in range(4)]
    assert seen.stopped_streams == 1, "leaving the stream cancels the app's generator"
    assert client.get("/echo/after").status_code == 200


def test_a_stream_hands_its_headers_over_before_its_first_chunk(client: Any, seen: Seen) -> None:
    # The headers waited for the first chunk, and a client that left meanwhile could not
    # cancel the app: an SSE endpoint waiting for its first event hung the test (a trial's).
    with client.stream("GET", "/quiet-stream") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
    assert seen.background == ["quiet stream started"]
    assert seen.stopped_streams == 1, "leaving the stream cancels the app's generator"
    assert client.get("/echo/after").status_code == 200


def test_a_client_that_leaves_a_stream_lets_the_app_clean_up(client: Any, seen: Seen) -> None:
    # The app is told the client left and ends by itself, running its background task (an
    # upstream closed, usage recorded): cancelled outright, it never did (a trial's proxy).
    with client.stream("GET", "/cleaned-up") as response:
        assert next(response.iter_lines()) == "data: 0"
    assert seen.background == ["upstream closed"]


def test_websockets_still_work(client: Any) -> None:
    with client.websocket_connect("/ws") as ws:
        ws.send_text("there")
        assert ws.receive_text() == "hello there"


async def lifespan(receive: Any, send: Any, state: dict[str, Any], **values: Any) -> None:
    """A raw ASGI app's lifespan: ``values`` go into its state at startup."""
    await receive()
    state.update(values)
    await send({"type": "lifespan.startup.complete"})
    await receive()
    await send({"type": "lifespan.shutdown.complete"})


def test_a_plain_asgi_app_gets_streams_and_lifespan_state_too() -> None:
    """Not Starlette: the harness's own httpx client, same transport."""
    stopped: list[bool] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, scope["state"], greeting="hi")
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if scope["path"] == "/state":
            await send({"type": "http.response.body", "body": scope["state"]["greeting"].encode()})
            return
        try:
            for n in itertools.count():
                await send({"type": "http.response.body", "body": b"%d," % n, "more_body": True})
        finally:
            stopped.append(True)

    with Harness() as harness:
        harness.build(lambda: app, {})
        client = harness.client()
        assert not isinstance(client, TestClient)
        assert client.get("/state").text == "hi"
        with client.stream("GET", "/numbers") as response:
            chunks = list(itertools.islice(response.iter_bytes(), 3))
        assert chunks == [b"0,", b"1,", b"2,"]
    assert stopped == [True]


def test_debug_info_lands_on_the_response_as_with_test_client() -> None:
    """What template responses send (``response.template``/``.context`` in tests)."""

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, scope["state"])
            return
        assert "http.response.debug" in scope["extensions"]
        info = {"template": "page.html", "context": {"user": "ada"}}
        await send({"type": "http.response.debug", "info": info})
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"<p>ada</p>"})

    with Harness() as harness:
        harness.build(lambda: app, {})
        response = harness.client().get("/")
    assert response.template == "page.html"
    assert response.context == {"user": "ada"}


def test_a_response_never_started_is_a_500() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await lifespan(receive, send, scope["state"])

    with Harness() as harness:
        harness.build(lambda: app, {})
        assert harness.client().get("/").status_code == 500


def test_a_starlette_whose_test_client_is_not_httpx_gets_the_plugins_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Starlette before 0.21 built TestClient on requests (and anyio 3's portal): nothing there
    # the plugin can drive, so the app is served by the plugin's own ASGI client instead.
    from pytest_hardening import _asgi_client

    class RequestsTestClient:  # the shape of starlette 0.19's: a requests.Session
        def __init__(self, app: Any, **kwargs: Any) -> None:
            raise AssertionError("a requests-based TestClient must not be built")

    monkeypatch.setattr(_asgi_client, "starlette_test_client", lambda: RequestsTestClient)
    seen = Seen()
    with _asgi_client.sync_test_client(starlette_app(seen)) as client:
        assert isinstance(client, _asgi_client.AsgiTestClient)
        assert client.get("/finite").text == "abc"


def test_a_starlette_whose_test_client_needs_requests_not_installed_gets_the_plugins_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Its starlette.testclient imports requests, which the app need not depend on: importing
    # it failed the fixture with "No module named 'requests'".
    from pytest_hardening import _asgi_client

    def without_requests() -> Any:
        raise ModuleNotFoundError("No module named 'requests'", name="requests")

    monkeypatch.setattr(_asgi_client, "starlette_test_client", without_requests)
    seen = Seen()
    with _asgi_client.sync_test_client(starlette_app(seen)) as client:
        assert isinstance(client, _asgi_client.AsgiTestClient)
        assert client.get("/finite").text == "abc"


async def _async_get(seen: Seen, path: str) -> tuple[Any, BaseException | None]:
    """The answer to ``GET path`` from the async client, or what reading it raised."""
    with Harness() as harness:
        harness.build(lambda: starlette_app(seen), {})
        async with harness.async_client() as client:
            try:
                return await client.get(path), None
            except Exception as error:
                return None, error


@pytest.mark.anyio
async def test_the_async_client_cuts_a_body_the_app_fails_part_way_too(
    seen: Seen, caplog: pytest.LogCaptureFixture
) -> None:
    # httpx's own ASGI transport hands the cut body over as a whole 200: a stream cut
    # mid-answer read as a complete one.
    _, error = await _async_get(seen, "/broken")
    assert type(error).__name__ == "RemoteProtocolError"
    assert "the app failed after answering 200 (LookupError" in str(error)
    assert isinstance(error.__cause__, LookupError)
    (record,) = [r for r in caplog.records if r.name == "pytest_hardening.app"]
    assert "GET /broken (the client was answered 200, its body cut" in record.getMessage()
    _, started = await _async_get(seen, "/started/")
    assert "answering 201 (RuntimeError: no body)" in str(started)
    with Harness() as harness:
        harness.build(lambda: starlette_app(seen), {})
        async with harness.async_client() as client, client.stream("GET", "/broken") as cut:
            parts = cut.aiter_text()
            assert (cut.status_code, await parts.__anext__()) == (200, "a")
            with pytest.raises(Exception, match="the body ends where it failed"):
                await parts.__anext__()


@pytest.mark.anyio
async def test_the_async_client_keeps_whole_answers_and_500s(seen: Seen) -> None:
    statuses = [(await _async_get(seen, path))[0].status_code for path in ("/boom", "/finite")]
    assert statuses == [500, 200]
    response, error = await _async_get(seen, "/then-fails")  # the body was sent whole
    assert (response.json(), error) == ({"ok": True}, None)


def test_websockets_beside_a_starlette_too_old_for_httpx_say_to_upgrade_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Starlette before 0.37.2 builds its TestClient with httpx.Client(app=...), which httpx
    # 0.28 refuses: the app (a FastAPI one in the trial) is served by the plugin's own client,
    # whose websocket refusal had blamed the app for not being a Starlette one.
    import httpx

    from pytest_hardening import _asgi_client

    class OldTestClient(httpx.Client):
        def __init__(self, app: Any, **kwargs: Any) -> None:
            super().__init__(app=app, base_url="http://testserver")  # type: ignore[call-arg]

    monkeypatch.setattr(_asgi_client, "starlette_test_client", lambda: OldTestClient)
    client = _asgi_client.sync_test_client(starlette_app(Seen()))
    with client, pytest.raises(NotImplementedError) as raised:
        client.websocket_connect("/ws")
    message = str(raised.value)
    assert "cannot run with the installed httpx" in message
    assert "Upgrade Starlette to 0.37.2 or later (FastAPI 0.110.1 or later)" in message
    assert "serves Starlette apps only" not in message
