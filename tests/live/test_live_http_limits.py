"""Live: request limits over a real socket. A client that sends its headers and then stalls
its body is answered 408 and disconnected once the body timeout passes; a request framed both by
Content-Length and Transfer-Encoding (request smuggling) is refused and its connection closed
before a request hidden in its body is answered; oversized headers are 431.

The app runs with a one-second body timeout (``tests.live._factories``), so the slow-body test
waits about that long; the socket's own timeout only bounds a failing run.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from pytest_hardening.live import LiveApp
from reference_app._limits import MAX_HEADER_BYTES
from reference_app.testing import DEV_ENV, TEST_MERCHANT_API_KEY

from ._support import HEALTH, ROOT, UNSET

pytestmark = pytest.mark.live(seconds=1.5)

#: Bounds a failing run only (the server answers after its one-second body timeout).
SOCKET_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    database = tmp_path_factory.mktemp("http-limits") / "calls.db"
    env = {**DEV_ENV, "ENABLE_SENTRY": "false", "DATABASE_URL": f"sqlite+aiosqlite:///{database}"}
    with LiveApp.uvicorn(
        "tests.live._factories:app_with_short_body_timeout",
        factory=True,
        env=env,
        unset=UNSET,
        health_path=HEALTH,
        ready_timeout=60,
        cwd=ROOT,
    ) as live:
        yield live


def _read_until_closed(sock: socket.socket) -> bytes:
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_a_stalled_body_is_answered_408_and_the_connection_closed(app: LiveApp) -> None:
    assert app.port is not None
    head = (
        "POST /api/calls HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{app.port}\r\n"
        f"Authorization: Bearer {TEST_MERCHANT_API_KEY}\r\n"
        "Content-Type: application/json\r\n"
        "Content-Length: 200\r\n"
        "\r\n"
        '{"order_id": "55'
    )
    with socket.create_connection(("127.0.0.1", app.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(head.encode())  # ... and never the rest of the 200 bytes
        answer = _read_until_closed(sock)  # returns once the server closes the connection

    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line == b"HTTP/1.1 408 Request Timeout", answer
    headers = rest.split(b"\r\n\r\n", 1)[0].lower()
    assert b"connection: close" in headers
    assert b"request body too slow" in answer


def test_a_body_arriving_in_time_is_not_refused(app: LiveApp) -> None:
    # The same request completed: the timeout is per chunk, not a race the client loses.
    assert app.port is not None
    body = b'{"order_id": "55", "shop": "x", "phone": "1"}'
    head = (
        "POST /api/calls HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{app.port}\r\n"
        f"Authorization: Bearer {TEST_MERCHANT_API_KEY}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        "\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", app.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(head + body[:10])
        sock.sendall(body[10:])
        answer = _read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 422"), answer  # parsed and validated, not timed out


def _exchange(app: LiveApp, data: bytes) -> bytes:
    assert app.port is not None
    with socket.create_connection(("127.0.0.1", app.port), timeout=SOCKET_TIMEOUT) as sock:
        sock.sendall(data)
        return _read_until_closed(sock)


def test_a_request_framed_two_ways_is_refused_and_what_it_hides_never_answered(
    app: LiveApp,
) -> None:
    # A front proxy honouring Content-Length would forward "0\r\n\r\nGET /hidden ..." as
    # this request's body; the app must not answer the hidden request as a request of its own.
    answer = _exchange(
        app,
        b"POST /api/calls HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Length: 4\r\n\r\n0\r\n\r\n"
        b"GET /api/monitoring/health HTTP/1.1\r\nHost: a\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert answer.count(b"HTTP/1.1 ") == 1, answer


def test_headers_over_the_limit_are_431_even_when_they_arrive_at_once(app: LiveApp) -> None:
    big = b"X-Padding: " + b"a" * MAX_HEADER_BYTES + b"\r\n"
    answer = _exchange(
        app,
        b"GET /api/monitoring/health HTTP/1.1\r\nHost: a\r\n" + big + b"Connection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    long_path = (
        b"GET /" + b"a" * MAX_HEADER_BYTES + b" HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"
    )
    assert _exchange(app, long_path).startswith(b"HTTP/1.1 431 ")
