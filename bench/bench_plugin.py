"""What pytest-hardening costs a test suite.

Run: ``.venv/bin/python bench/bench_plugin.py [--repeats 7] [--tests 500]``

Not a test (never collected by pytest). Three measurements, each in one run, side by side:

1. **Inert overhead**: a generated suite of 500 trivial tests run in subprocesses with the plugin
   (it loads by default through its entry point) and with ``-p no:pytest_hardening``,
   alternating, ``--repeats`` times each; medians of wall time and of the child's CPU time.
   Target: at most 2 % slower with the plugin.
2. **Per-test cost** of ``faults`` + ``clock`` + ``hardened_client`` against plain respx +
   freezegun + Starlette ``TestClient`` doing the same thing (build the reference app with a fresh
   SQLite file, run its lifespan, fail Exotel with a 503, ``POST /api/calls`` → 202, move time
   61 s). Per-test times come from pytest's JUnit XML (setup + call + teardown of each test).
3. **A full breaker cycle with a 60 s open timeout**: five failing calls open the ``exotel``
   breaker, ``clock.advance(60)``, two healthy calls close it, transitions checked; once through
   the reference app (``hardened_client``) and once on a bare ``CircuitBreaker`` with the
   ``clock`` fixture. Target: under 50 ms of wall time per test.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TRIVIAL = """
def test_{i}():
    assert {i} + 1 > {i}
"""

HARDENED = """
import pytest

CALL = {{"order_id": "5521", "shop": "acme.myshopify.com", "phone": "+919876543210"}}

{tests}
"""
HARDENED_TEST = """
def test_hardened_{i}(hardened_client, faults, clock):
    faults.fail("exotel", status=503)
    response = hardened_client.post("/api/calls", json=CALL)
    assert response.status_code == 202
    clock.advance(61)
"""

PLAIN = """
import os
from collections.abc import Iterator

import freezegun
import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sentry_sdk.transport import Transport

from reference_app import create_app, fakes
from reference_app.testing import DEV_ENV, TEST_MERCHANT_API_KEY

CALL = {{"order_id": "5521", "shop": "acme.myshopify.com", "phone": "+919876543210"}}


class Capture(Transport):
    # What a suite without pytest-hardening writes (the plugin's own is SentryCapture).
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


@pytest.fixture
def plain(tmp_path, monkeypatch) -> Iterator[tuple[TestClient, respx.Router, object]]:
    # OPENAI_API_KEY empty: the app writes the template script (its SDK rides on httpx2, which
    # plain respx does not intercept).
    db = f"sqlite+aiosqlite:///{{tmp_path}}/db"
    env = {{**DEV_ENV, "DATABASE_URL": db, "OPENAI_API_KEY": ""}}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.route(host="api.exotel.com").mock(return_value=httpx.Response(503))
        router.route(host="api.openai.com").mock(side_effect=fakes.openai)
        router.route(host__regex=r"[.]myshopify[.]com$").mock(side_effect=fakes.shopify)
        app = create_app(sentry_transport=Capture())
        try:
            # Time is frozen once the app runs: lazy imports in the lifespan must not happen
            # under freezegun (pydantic.v1 breaks on a patched datetime).
            auth = {{"Authorization": f"Bearer {{TEST_MERCHANT_API_KEY}}"}}
            with TestClient(app, raise_server_exceptions=False, headers=auth) as client:
                with freezegun.freeze_time(real_asyncio=True) as frozen:
                    yield client, router, frozen
        finally:
            app.state.sentry.close()

{tests}
"""
PLAIN_TEST = """
def test_plain_{i}(plain):
    client, router, frozen = plain
    response = client.post("/api/calls", json=CALL)
    assert response.status_code == 202
    frozen.tick(61)
"""

CYCLE = """
import pytest

from reference_app.resilience import CircuitBreaker

CALL = {"order_id": "5521", "shop": "acme.myshopify.com", "phone": "+919876543210"}
CYCLE = [("CLOSED", "OPEN"), ("OPEN", "HALF_OPEN"), ("HALF_OPEN", "CLOSED")]


def test_00_warm_up(hardened_client):
    # Pays the one-off lazy imports of the first app in the process (not measured).
    assert hardened_client.get("/api/monitoring/health").status_code == 200


def test_app_breaker_cycle_60s(hardened_client, faults, clock, breakers):
    faults.fail("exotel")
    for _ in range(5):
        assert hardened_client.post("/api/calls", json=CALL).status_code == 202
    assert breakers.state("exotel") == "OPEN"
    clock.advance(60)
    faults.heal("exotel")
    for _ in range(2):
        assert hardened_client.post("/api/calls", json=CALL).status_code == 201
    assert breakers.state("exotel") == "CLOSED"
    assert [tuple(map(str, t)) for t in breakers.transitions("exotel")] == CYCLE


def test_breaker_cycle_60s(clock):
    breaker = CircuitBreaker("exotel", failure_threshold=5, success_threshold=2, open_timeout=60)

    def boom():
        raise ConnectionError("down")

    for _ in range(5):
        with pytest.raises(ConnectionError):
            breaker.call(boom)
    assert breaker.state == "OPEN"
    clock.advance(60)
    assert breaker.call(lambda: "ok") == "ok"
    assert breaker.call(lambda: "ok") == "ok"
    assert breaker.state == "CLOSED"
    assert [(str(t.from_state), str(t.to_state)) for t in breaker.transitions] == CYCLE
"""


@dataclass
class Run:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


def pytest_run(args: list[str], cwd: Path) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall and CPU seconds of one pytest subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and arguments
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"pytest {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr}")
    return wall, cpu, done


def junit_times(path: Path) -> dict[str, float]:
    tree = ET.parse(path)  # noqa: S314 - pytest's own output
    return {case.get("name", "?"): float(case.get("time", "nan")) for case in tree.iter("testcase")}


def inert(work: Path, tests: int, repeats: int) -> tuple[Run, Run]:
    suite = work / "trivial"
    suite.mkdir()
    per_file = 50
    for start in range(0, tests, per_file):
        body = "".join(TRIVIAL.format(i=i) for i in range(start, min(start + per_file, tests)))
        (suite / f"test_trivial_{start // per_file:02d}.py").write_text(body)
    with_plugin, without = Run(), Run()
    pytest_run(["trivial"], work)  # warm the filesystem cache
    for _ in range(repeats):
        for run, extra in ((with_plugin, []), (without, ["-p", "no:pytest_hardening"])):
            wall, cpu, done = pytest_run([*extra, "trivial"], work)
            assert f"{tests} passed" in done.stdout, done.stdout[-500:]
            run.wall.append(wall)
            run.cpu.append(cpu)
    return with_plugin, without


def per_test(work: Path, count: int, repeats: int) -> dict[str, list[float]]:
    (work / "test_hardened.py").write_text(
        HARDENED.format(tests="".join(HARDENED_TEST.format(i=i) for i in range(count)))
    )
    (work / "test_plain.py").write_text(
        PLAIN.format(tests="".join(PLAIN_TEST.format(i=i) for i in range(count)))
    )
    (work / "test_cycle.py").write_text(CYCLE)
    times: dict[str, list[float]] = {}
    for index in range(repeats):
        for name in ("test_hardened.py", "test_plain.py", "test_cycle.py"):
            report = work / f"junit-{index}-{name}.xml"
            pytest_run(["-p", "reference_app.testing", f"--junitxml={report}", name], work)
            for test, seconds in junit_times(report).items():
                # The first test of a file also pays one-off imports: keep it out of the medians.
                if test.endswith("_0") or test == "test_00_warm_up":
                    continue
                key = test.rsplit("_", 1)[0] if name != "test_cycle.py" else test
                times.setdefault(key, []).append(seconds)
    return times


def report(
    inert_runs: tuple[Run, Run], times: dict[str, list[float]], args: argparse.Namespace
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    with_plugin, without = inert_runs
    table = Table(title=f"Inert overhead: {args.tests} trivial tests, {args.repeats} runs each")
    for column in ("", "without plugin", "with plugin", "overhead", "target ≤ 2 %"):
        table.add_column(column, justify="left" if not column else "right")
    for label, attr in (("median wall s", "wall"), ("median CPU s", "cpu")):
        base = statistics.median(getattr(without, attr))
        mine = statistics.median(getattr(with_plugin, attr))
        pct = (mine - base) / base * 100
        table.add_row(
            label, f"{base:.3f}", f"{mine:.3f}", f"{pct:+.1f} %", "met" if pct <= 2 else "MISSED"
        )
    console.print(table)

    plain = statistics.median(times["test_plain"])
    hardened = statistics.median(times["test_hardened"])
    table = Table(title="Per-test cost: fail Exotel, POST /api/calls → 202, move time 61 s")
    for column in ("tooling", "median ms/test", "× plain"):
        table.add_column(column, justify="left" if column == "tooling" else "right")
    table.add_row("plain respx + freezegun + TestClient", f"{plain * 1e3:.1f}", "1.00×")
    table.add_row(
        "faults + clock + hardened_client", f"{hardened * 1e3:.1f}", f"{hardened / plain:.2f}×"
    )
    console.print(table)

    table = Table(title="Full breaker cycle with a 60 s open timeout (wall time per test)")
    for column in ("test", "median ms", "max ms", "target < 50 ms"):
        table.add_column(column, justify="left" if column == "test" else "right")
    for name in ("test_app_breaker_cycle_60s", "test_breaker_cycle_60s"):
        seconds = times[name]
        median = statistics.median(seconds)
        table.add_row(
            name,
            f"{median * 1e3:.1f}",
            f"{max(seconds) * 1e3:.1f}",
            "met" if median < 0.05 else "MISSED",
        )
    console.print(table)
    load = os.getloadavg()[0]
    console.print(
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
        f"{platform.python_version()}, load average {load:.1f} on {os.cpu_count()} CPUs"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tests", type=int, default=500, help="trivial tests in the suite")
    parser.add_argument("--repeats", type=int, default=7, help="runs of each variant")
    parser.add_argument("--per-test", type=int, default=15, help="tests per per-test file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-plugin-") as tmp:
        work = Path(tmp)
        inert_runs = inert(work, args.tests, args.repeats)
        times = per_test(work, args.per_test, max(1, args.repeats // 2))
    report(inert_runs, times, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
