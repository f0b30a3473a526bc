"""Live: a client that sends its headers and then stalls its body is answered 408 and
disconnected once the body timeout passes (the app's limit, over a real socket).

The app runs with a one-second body timeout (``tests.live._factories``), so the test waits about
that long; the socket's own timeout only bounds a failing run.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from pytest_hardening.live import LiveApp
from reference_app.testing import DEV_ENV, TEST_MERCHANT_API_KEY

from ._support import HEALTH, ROOT, UNSET

pytestmark = pytest.mark.live

#: Bounds a failing run only (the server answers after its one-second body timeout).
SOCKET_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    database = tmp_path_factory.mktemp("slow-body") / "calls.db"
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
