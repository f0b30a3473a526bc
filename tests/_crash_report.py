"""A crashed xdist worker's last words, in the run's summary.

When a worker dies (a segfault, an abort, a signal), xdist reports only "worker 'gw1' crashed
while running <test>", and the traceback faulthandler wrote went to the worker's stderr, far
above the summary. Here each worker's faulthandler writes to a file of its own (fatal errors,
and SIGTERM/SIGQUIT/SIGUSR1 dumps with every thread), and the controller prints the files of
the workers that went down with an error, with their exit status, at the end of the run.
"""

from __future__ import annotations

import faulthandler
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import IO, Any

import pytest

_DIRECTORY = "HARDENING_TESTS_CRASH_DIR"
_DUMP_ON = (signal.SIGTERM, signal.SIGQUIT, signal.SIGUSR1)
_crashed: list[tuple[str, str]] = []  # (worker id, exit status); the controller's own run
_open: list[IO[str]] = []
_made: list[str] = []


@pytest.hookimpl(trylast=True)  # after pytest's faulthandler plugin, which writes to stderr
def pytest_configure(config: pytest.Config) -> None:
    workerinput = getattr(config, "workerinput", None)  # not a pytest a test starts
    if workerinput is None:
        # The controller: workers are started after this and inherit the variable.
        if config.getoption("numprocesses", None) and _DIRECTORY not in os.environ:
            os.environ[_DIRECTORY] = tempfile.mkdtemp(prefix="pytest-workers-")
            _made.append(os.environ[_DIRECTORY])
        return
    worker = workerinput["workerid"]
    directory = os.environ.get(_DIRECTORY)
    if directory:
        log = Path(directory, f"{worker}.log").open("w")  # noqa: SIM115 (open for the run)
        _open.append(log)
        _point_at(log)
        for number in _DUMP_ON:
            faulthandler.register(number, log, all_threads=True, chain=True)


@pytest.hookimpl(trylast=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # A pytest run inside a test (pytester's inline runs) points faulthandler back at stderr
    # when it ends: point it at the log again before every test.
    if _open:
        _point_at(_open[0])


def _point_at(log: IO[str]) -> None:
    faulthandler.enable(log, all_threads=True)


def pytest_unconfigure(config: pytest.Config) -> None:
    for number in _DUMP_ON:
        faulthandler.unregister(number)
    while _open:
        _open.pop().close()
    while _made:  # the controller's, once the summary has shown what it holds
        shutil.rmtree(_made.pop(), ignore_errors=True)
        os.environ.pop(_DIRECTORY, None)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    if error:
        _crashed.append((str(node.gateway.id), _exit_status(node)))


def pytest_terminal_summary(terminalreporter: Any) -> None:
    directory = os.environ.get(_DIRECTORY)
    for worker, status in _crashed:
        terminalreporter.section(f"worker {worker} crashed ({status})", sep="-", red=True)
        log = Path(directory or ".", f"{worker}.log")
        text = log.read_text(errors="replace").strip() if log.is_file() else ""
        terminalreporter.write_line(text[-6000:] or "(faulthandler wrote nothing: SIGKILL?)")


def _exit_status(node: Any) -> str:
    # execnet's popen gateway keeps its process; nothing public says how it ended.
    popen = getattr(getattr(node.gateway, "_io", None), "popen", None)
    try:
        code = popen.wait(timeout=5) if popen is not None else None
    except subprocess.TimeoutExpired:
        code = None
    if code is None:
        return "exit status unknown"
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"
