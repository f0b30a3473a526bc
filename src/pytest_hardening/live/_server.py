"""LiveServer: one ASGI app under uvicorn on 127.0.0.1, in a background thread.

Real sockets for tests that need them (a subprocess app calling fake providers, an ingest stub
for Sentry). The port is bound before the server starts, so it is known at once and survives a
stop/start cycle: stopping closes the listening socket (clients get ``ECONNREFUSED``, like a
provider that is down) and starting again listens on the same port.

Idle keep-alive connections stay open for :data:`KEEP_ALIVE` seconds, far longer than the
clients' own keep-alive expiry (httpx: 5 s). uvicorn's default is also 5 s: a client that sends
on a connection idle for almost 5 s can then meet the server's close on the wire and fail with
"Server disconnected without sending a response" (a race a busy machine widens), although the
server never read the request.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn

__all__ = ["LiveServer", "LiveServerError"]

HOST = "127.0.0.1"
#: Seconds an idle connection is kept open (uvicorn's ``timeout_keep_alive``; its default: 5).
KEEP_ALIVE = 75.0
#: Seconds a stop may take beyond the grace period before it is forced, then reported.
STOP_SLACK = 15.0
#: The oldest uvicorn whose ``Config`` takes what :meth:`LiveServer.start` sets:
#: ``server_header``/``date_header`` (0.15) and ``timeout_graceful_shutdown`` (0.22).
UVICORN_NEEDED = "0.22"


class LiveServerError(RuntimeError):
    """A live server did not start or stop within its deadline."""


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Rebinding the same port right after a stop must not wait out TIME_WAIT.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError:
        sock.close()
        raise
    return sock


def _require_uvicorn() -> None:
    """An app's own pin may hold uvicorn below what the live servers set (a trial's ^0.13.3):
    said at once, instead of a TypeError from deep inside ``uvicorn.Config``."""
    from packaging.version import InvalidVersion, Version

    from pytest_hardening._requirements import Unmet

    installed = getattr(uvicorn, "__version__", "")
    try:
        old = Version(installed) < Version(UVICORN_NEEDED)
    except InvalidVersion:
        return  # a version packaging cannot read: nothing to say about it
    if old:
        needs = f"uvicorn>={UVICORN_NEEDED}"
        raise LiveServerError(
            f"pytest_hardening.live cannot run with the uvicorn installed here: "
            f"{Unmet('uvicorn', needs, installed)}; its servers set timeout_graceful_shutdown "
            f"and server_header, which older releases refuse. Install it beside the tests "
            f"(python -m pip install '{needs}'), or serve the app under its own pinned uvicorn "
            "in a process of its own: LiveApp.uvicorn(..., python=<the app's interpreter>) "
            "(docs/fixtures.md)"
        )


class LiveServer:
    """Serve ``app`` (an ASGI callable) on ``127.0.0.1:port`` (0: an ephemeral port).

    ``start()`` returns once uvicorn listens (bounded by ``startup_timeout``); ``stop()`` asks
    it to exit, cancels requests still running after ``grace`` seconds and joins the thread.
    Idle connections are closed after ``keep_alive`` seconds.
    Usable as a context manager; ``start``/``stop`` may be repeated (same port each time).
    """

    def __init__(
        self,
        app: Any,
        *,
        port: int = 0,
        name: str = "live",
        startup_timeout: float = 30.0,
        grace: float = 0.5,
        keep_alive: float = KEEP_ALIVE,
    ) -> None:
        self.app = app
        self.keep_alive = keep_alive
        self.name = name
        self.startup_timeout = startup_timeout
        self.grace = grace
        self._port = port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def port(self) -> int:
        if not self._port:
            raise LiveServerError(f"live server {self.name!r} has no port yet: start() it first")
        return self._port

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>`` (no trailing slash)."""
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> LiveServer:
        if self.running:
            return self
        _require_uvicorn()
        sock = _bind(self._port)
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            # None: leave the host process's logging alone (uvicorn would dictConfig it).
            log_config=None,
            log_level="warning",
            access_log=False,
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=max(1, round(self.grace)),
            timeout_keep_alive=max(1, round(self.keep_alive)),
        )
        server = uvicorn.Server(config)
        self._server, self._error = server, None
        thread = threading.Thread(
            target=self._run, args=(server, sock), name=f"live-server-{self.name}", daemon=True
        )
        self._thread = thread
        thread.start()
        deadline = time.monotonic() + self.startup_timeout
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self._stop_thread(server, thread)
                why = f"it failed: {self._error!r}" if self._error else "timed out"
                raise LiveServerError(
                    f"live server {self.name!r} on {HOST}:{self._port} did not start "
                    f"within {self.startup_timeout}s ({why})"
                )
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        self.request_stop()
        self.join()

    def request_stop(self) -> None:
        """Ask uvicorn to exit without waiting (stop several servers at once, then join)."""
        if self._server is not None:
            self._server.should_exit = True

    def join(self) -> None:
        """Wait for a stop requested with :meth:`request_stop` (or request it now)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None and thread is not None:
            self._stop_thread(server, thread)

    def _run(self, server: uvicorn.Server, sock: socket.socket) -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported by start(); a thread has nowhere to raise
            self._error = exc
        finally:
            sock.close()

    def _stop_thread(self, server: uvicorn.Server, thread: threading.Thread) -> None:
        server.should_exit = True
        # uvicorn checks should_exit every 0.1 s, then waits up to its graceful timeout. The
        # bounds are generous (a stop takes ~grace + 0.1 s): only a stuck server waits them out,
        # and a busy machine must not turn a slow stop into an error.
        thread.join(self.grace + STOP_SLACK)
        if thread.is_alive():
            server.force_exit = True
            thread.join(STOP_SLACK)
        if thread.is_alive():
            raise LiveServerError(f"live server {self.name!r} did not stop within its deadline")

    def __enter__(self) -> LiveServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
