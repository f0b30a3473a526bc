"""LiveApp: an app server in a subprocess on 127.0.0.1, ready when its health URL answers.

A subprocess (not a thread) so that it can be sent SIGTERM and observed exiting, and so that
load tests measure a server that does not share the test's interpreter.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

import httpx

from ._offline import HOST, app_environment

__all__ = ["Exit", "LiveApp", "LiveAppError"]

#: ``LiveApp.uvicorn``'s keep-alive for idle connections, in seconds: far above the clients'
#: own expiry (httpx: 5 s). At uvicorn's default (also 5 s) a request sent on a connection idle
#: for almost 5 s can cross the server's close and fail with "Server disconnected without
#: sending a response" (a race a busy machine widens), although the app never read it.
KEEP_ALIVE = 75.0
#: How servers word EADDRINUSE (uvicorn, hypercorn, gunicorn, http.server), lowercased.
_PORT_TAKEN = "address already in use"
#: Launches on a fresh port after the picked one was taken before the app could bind it.
_RELAUNCHES = 3


class LiveAppError(RuntimeError):
    """The app process did not become ready, or did not exit, within its deadline."""


@dataclass(frozen=True, slots=True)
class Exit:
    """How the process ended: ``returncode`` (negative: killed by that signal) and the seconds
    from the stop signal to the exit."""

    returncode: int
    seconds: float


def free_port() -> int:
    """An ephemeral port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


class LiveApp:
    """Run ``argv`` (``{port}`` is replaced by a free port, in ``argv`` and in the values of
    ``env``, e.g. ``PORT="{port}"``) with ``env`` on top of this process's environment (names
    in ``unset`` removed first), and wait until
    ``GET {url}{health_path}`` answers a status below 500, for at most ``ready_timeout`` s.
    An app that exits saying its address is already in use (the port was free when picked and
    taken before the app bound it) is launched again on a new port, up to three times.

    ``offline=True`` (default) points the HTTP(S) proxy variables at a port that refuses
    connections, with ``NO_PROXY=127.0.0.1,localhost``: an app whose HTTP clients honour them
    (httpx, requests, urllib3, sentry-sdk) cannot reach the real network, only 127.0.0.1.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        unset: Iterable[str] = (),
        health_path: str = "/",
        ready_timeout: float = 20.0,
        offline: bool = True,
        cwd: str | Path | None = None,
    ) -> None:
        self.argv_template = list(argv)
        self.env = dict(env or {})
        self.unset = frozenset(unset)
        self.health_path = health_path
        self.ready_timeout = ready_timeout
        self.offline = offline
        self.cwd = cwd
        self.port = 0
        self.exit: Exit | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self._final_output = ""
        self._dead_end: socket.socket | None = None
        self._relaunches = 0

    @classmethod
    def uvicorn(
        cls,
        app: str,
        *,
        factory: bool = False,
        grace: float | None = None,
        keep_alive: float = KEEP_ALIVE,
        env: Mapping[str, str] | None = None,
        unset: Iterable[str] = (),
        health_path: str = "/",
        ready_timeout: float = 20.0,
        offline: bool = True,
        cwd: str | Path | None = None,
        python: str | Path | None = None,
    ) -> LiveApp:
        """``python -m uvicorn app`` (``"module:attr"``; ``factory=True`` for an app factory)
        on 127.0.0.1, ``grace`` seconds of graceful shutdown, idle connections kept open for
        ``keep_alive`` seconds. ``python``: the interpreter to serve it with (default: this
        one), e.g. the app's own virtualenv's when its pins clash with the plugin's. Note:
        after a graceful SIGTERM recent uvicorn releases re-raise the signal, so the exit
        status is -15; older ones exit 0."""
        interpreter = str(python) if python is not None else sys.executable
        argv = [interpreter, "-m", "uvicorn", app, "--host", HOST, "--port", "{port}"]
        argv += ["--log-level", "warning", "--no-access-log"]
        argv += ["--timeout-keep-alive", str(max(1, round(keep_alive)))]
        if factory:
            argv.append("--factory")
        if grace is not None:
            argv += ["--timeout-graceful-shutdown", str(max(1, round(grace)))]
        return cls(
            argv,
            env=env,
            unset=unset,
            health_path=health_path,
            ready_timeout=ready_timeout,
            offline=offline,
            cwd=cwd,
        )

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        if not self.port:
            raise LiveAppError("the app has no port yet: start() it first")
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        return self._popen().pid

    def start(self) -> LiveApp:
        """:meth:`launch`, then :meth:`wait_ready`."""
        self.launch()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def launch(self) -> LiveApp:
        """Start the process without waiting (start several, then wait for each)."""
        if self._process is not None:
            raise LiveAppError("LiveApp is already started")
        self.port = free_port()
        argv = [part.replace("{port}", str(self.port)) for part in self.argv_template]
        # A file, not a pipe: a chatty app never blocks. Closed in __exit__.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self._process = subprocess.Popen(  # noqa: S603 - argv comes from the test itself
            argv,
            env=self._environment(),
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        return self

    def terminate(self, timeout: float = 10.0) -> Exit:
        """Send SIGTERM and wait for the exit (SIGKILL after ``timeout`` s, then raise)."""
        return self._signal(signal.SIGTERM, timeout)

    def stop(self, timeout: float = 10.0) -> Exit | None:
        """Terminate if still running; close the log. Idempotent."""
        try:
            if self._process is not None and self._process.poll() is None:
                return self.terminate(timeout)
            return self.exit
        finally:
            if self._dead_end is not None:
                self._dead_end.close()
                self._dead_end = None

    def output(self, tail: int = 4000) -> str:
        """The process's combined stdout/stderr (the last ``tail`` characters); still
        available after the context manager exits."""
        if self._log is None:
            return self._final_output[-tail:]
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-tail:]

    def __enter__(self) -> LiveApp:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if self._log is not None:
            self._final_output = self.output(tail=1_000_000)
            self._log.close()
            self._log = None

    # -- internals -------------------------------------------------------------------------
    def _popen(self) -> subprocess.Popen[bytes]:
        if self._process is None:
            raise LiveAppError("LiveApp is not started")
        return self._process

    def _environment(self) -> dict[str, str]:
        env, self._dead_end = app_environment(self.env, self.unset, self.port, offline=self.offline)
        return env

    def wait_ready(self) -> None:
        """Poll the health URL until it answers below 500 (bounded by ``ready_timeout``)."""
        deadline = time.monotonic() + self.ready_timeout
        url = self.url + self.health_path
        last = "no answer yet"
        with httpx.Client(trust_env=False, timeout=1.0) as client:
            while True:
                code = self._popen().poll()
                if code is not None and self._port_was_taken():
                    # Free when picked, taken by another process (another test's server) before
                    # the app bound it: the app's start is the window. Again on a new port.
                    self._relaunch()
                    deadline = time.monotonic() + self.ready_timeout
                    url = self.url + self.health_path
                    continue
                if code is not None:
                    self.exit = Exit(code, 0.0)
                    raise LiveAppError(
                        f"the app exited with status {code} before it was ready "
                        f"(argv: {' '.join(self.argv_template)}).\n"
                        f"its output:\n{self.output()}"
                    )
                try:
                    response = client.get(url)
                except httpx.TransportError as exc:
                    last = type(exc).__name__
                else:
                    if response.status_code < 500:
                        return
                    last = f"HTTP {response.status_code}"
                if time.monotonic() > deadline:
                    raise LiveAppError(
                        f"expected GET {url} to answer (< 500) within {self.ready_timeout}s; "
                        f"last attempt: {last}.\nthe app's output:\n{self.output()}"
                    )
                time.sleep(0.05)

    def _port_was_taken(self) -> bool:
        return self._relaunches < _RELAUNCHES and _PORT_TAKEN in self.output().lower()

    def _relaunch(self) -> None:
        self._relaunches += 1
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._dead_end is not None:
            self._dead_end.close()
            self._dead_end = None
        self._process = None
        self.launch()

    def _signal(self, sig: signal.Signals, timeout: float) -> Exit:
        process = self._popen()
        if process.poll() is not None:
            self.exit = self.exit or Exit(process.returncode, 0.0)
            return self.exit
        start = time.monotonic()
        process.send_signal(sig)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5.0)
            self.exit = Exit(process.returncode, time.monotonic() - start)
            raise LiveAppError(
                f"the app did not exit within {timeout}s of {sig.name}; killed it.\n"
                f"its output:\n{self.output()}"
            ) from None
        self.exit = Exit(code, time.monotonic() - start)
        return self.exit
