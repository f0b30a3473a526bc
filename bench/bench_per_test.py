"""What one hardened test costs, next to the same request without the plugin, in one run.

Run: ``.venv/bin/python bench/bench_per_test.py [--rounds 25] [--cycles 10]``

Not a test (never collected by pytest). One pytest process (``-n 0 -p no:randomly``) runs a
generated module whose tests are interleaved round-robin, so load changes hit every kind alike:

- **(a) hardened**: ``hardened_client`` (with its ``faults``) on the reference app, one
  ``GET /api/monitoring/health``; the app is kept between tests and reset
  (``reference_app.testing.reset_app``);
- **(a+clock)**: the same with the ``clock`` fixture too (time frozen for the test);
- **(b) shared**: the same request on a module-scoped Starlette ``TestClient`` (one app for the
  whole module, no isolation at all);
- **(c) plain**: respx + freezegun + a ``TestClient`` (app built, lifespan run) per test, the
  hand-written equivalent without the plugin;
- **(d) no reuse**: (a) with ``hardening_app_reset`` returning ``None`` (an app built per test);
- **README cycle**: the README's breaker-cycle example (``docs/examples/test_example_readme.py``:
  five 202s, 61 s of virtual time, two 201s), run ``--cycles`` times after the rounds;
- **(b7) shared, seven POSTs**: its floor, the same seven ``POST /api/calls`` (all 201: no fault,
  no clock) on one module-shared app whose providers are the reference fakes behind an
  ``httpx.MockTransport`` (only the rate limit is cleared between tests), interleaved with the
  README cycles.

Per-test time is setup + call + teardown as pytest reports them (a hook in the generated
``conftest.py`` writes every phase's duration to a JSON file), next to the process CPU time the
test took (every thread: the app's event loop, the database driver's); CPU time moves far less
than wall time when other jobs share the cores. The first round and the first cycle (one-off
imports and the first app build) are left out; medians are printed with the
ratios to (b), and the README cycle's ratio to (b7). Targets (issue 11): (a) at most 3x (b); the
README cycle under 60 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README_EXAMPLE = ROOT / "docs" / "examples" / "test_example_readme.py"

CONFTEST = """
import json
import os
import time

import pytest

_TIMES = {}
_CPU = {}


def pytest_runtest_logreport(report):
    _TIMES.setdefault(report.nodeid.rpartition("::")[2], 0.0)
    _TIMES[report.nodeid.rpartition("::")[2]] += report.duration


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    start = time.process_time()  # every thread of the process: the app's too
    yield
    _CPU[item.name] = time.process_time() - start


def pytest_sessionfinish(session):
    with open(os.environ["BENCH_PER_TEST_OUT"], "w") as out:
        json.dump({"wall": _TIMES, "cpu": _CPU}, out)
"""

MODULE = """
import freezegun
import httpx
import pytest
import respx
from fastapi.testclient import TestClient
from sentry_sdk.transport import Transport

from reference_app import create_app, fakes
from reference_app.testing import DEV_ENV, TEST_MERCHANT_API_KEY, reset_app

PATH = "/api/monitoring/health"


@pytest.fixture
def hardening_app_reset(request):
    # (d) builds an app per test; every other hardened test reuses the kept one.
    return None if "_noreuse_" in request.node.name else reset_app


class Capture(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)


def _env(monkeypatch, path):
    # The hardened tests' environment (reference_app.testing's hardening_dev_env): no tracing.
    env = {**DEV_ENV, "DATABASE_URL": f"sqlite+aiosqlite:///{path}"}
    env["SENTRY_TRACES_SAMPLE_RATE"] = "0"
    for name, value in env.items():
        monkeypatch.setenv(name, value)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        _env(monkeypatch, tmp_path_factory.mktemp("shared") / "db")
        app = create_app(sentry_transport=Capture())
        with TestClient(app, raise_server_exceptions=False) as client:
            yield client
        app.state.sentry.close()


def _route(request):
    host = request.url.host
    name = "shopify" if host.endswith(".myshopify.com") else host.split(".")[-2]
    return getattr(fakes, name)(request)


@pytest.fixture(scope="module")
def shared_flow(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        _env(monkeypatch, tmp_path_factory.mktemp("flow") / "db")
        app = create_app(sentry_transport=Capture(), http_transport=httpx.MockTransport(_route))
        headers = {"Authorization": f"Bearer {TEST_MERCHANT_API_KEY}"}
        with TestClient(app, raise_server_exceptions=False, headers=headers) as client:
            yield client
        app.state.sentry.close()


@pytest.fixture
def plain(tmp_path, monkeypatch):
    _env(monkeypatch, tmp_path / "db")
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        router.route(host="api.exotel.com").mock(side_effect=fakes.exotel)
        router.route(host="api.openai.com").mock(side_effect=fakes.openai)
        router.route(host__regex=r"[.]myshopify[.]com$").mock(side_effect=fakes.shopify)
        app = create_app(sentry_transport=Capture())
        try:
            with TestClient(app, raise_server_exceptions=False) as client:
                with freezegun.freeze_time(real_asyncio=True):
                    yield client
        finally:
            app.state.sentry.close()

{tests}
"""

ROUND = """
def test_a_hardened_{i}(hardened_client):
    assert hardened_client.get(PATH).status_code == 200


def test_aclock_hardened_clock_{i}(hardened_client, clock):
    assert hardened_client.get(PATH).status_code == 200


def test_b_shared_{i}(shared):
    assert shared.get(PATH).status_code == 200


def test_c_plain_{i}(plain):
    assert plain.get(PATH).status_code == 200


def test_d_noreuse_{i}(hardened_client):
    assert hardened_client.get(PATH).status_code == 200
"""

KINDS = {
    "test_a_hardened": "(a) hardened_client, app reused",
    "test_aclock_hardened_clock": "(a+clock) hardened_client + clock, app reused",
    "test_b_shared": "(b) module-shared TestClient",
    "test_c_plain": "(c) plain respx + freezegun + TestClient per test",
    "test_d_noreuse": "(d) hardened_client, reuse off (app per test)",
    "test_readme_cycle": "README breaker cycle (7 POSTs, 61 s virtual)",
    "test_bseven_shared": "(b7) shared TestClient, the same 7 POSTs (all 201)",
}

SEVEN_IMPORT = "\nfrom test_a_rounds import shared_flow  # the module-scoped (b7) app\n"
SEVEN = """

def test_bseven_shared_{i}(shared_flow):
    shared_flow.app.state.rate_limiter.clear()
    for _ in range(7):
        assert shared_flow.post("/api/calls", json=CALL).status_code == 201
"""


def readme_cycles(count: int) -> str:
    source = README_EXAMPLE.read_text(encoding="utf-8")
    name = re.search(r"^def (test_\w+)\(", source, re.M)
    assert name is not None, "the README example test moved"
    body = source[name.start() :]
    prelude = source[: name.start()]
    prelude = prelude.replace('"""\n', '"""\n' + SEVEN_IMPORT, 1)
    return prelude + "".join(
        "\n\n" + body.replace(name.group(1), f"test_readme_cycle_{i}", 1) + SEVEN.format(i=i)
        for i in range(count)
    )


def run(rounds: int, cycles: int, baseline: str | None = None) -> dict[str, list[float]]:
    """One pytest process; with ``baseline`` (a tree exported from an earlier commit) its
    ``src`` and ``reference_app`` are imported instead of the installed ones."""
    env = dict(os.environ)
    if baseline:
        env["PYTHONPATH"] = os.pathsep.join([f"{baseline}/src", baseline])
    with tempfile.TemporaryDirectory(prefix="bench-per-test-") as tmp:
        work = Path(tmp)
        (work / "conftest.py").write_text(CONFTEST)
        tests = "".join(ROUND.format(i=i) for i in range(rounds))
        (work / "test_a_rounds.py").write_text(MODULE.replace("{tests}", tests))
        (work / "test_b_readme.py").write_text(readme_cycles(cycles))
        out = work / "times.json"
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-n",
                "0",
                "-p",
                "no:randomly",
                "-p",
                "no:cacheprovider",
                "-p",
                "reference_app.testing",
                "test_a_rounds.py",
                "test_b_readme.py",
            ],
            cwd=work,
            capture_output=True,
            text=True,
            env={**env, "BENCH_PER_TEST_OUT": str(out), "PYTHONDONTWRITEBYTECODE": "1"},
            check=False,
        )
        if done.returncode != 0:
            raise SystemExit(f"the generated tests failed:\n{done.stdout[-4000:]}{done.stderr}")
        return by_kind(json.loads(out.read_text()))


def by_kind(per_test: dict[str, dict[str, float]]) -> dict[str, list[float]]:
    """The times :data:`CONFTEST` wrote, grouped by kind (``test_x_<i>`` -> ``test_x``, CPU
    under ``test_x/cpu``), the first test of each kind left out."""
    times: dict[str, list[float]] = {}
    for clock in ("wall", "cpu"):
        for test, seconds in per_test[clock].items():
            kind, _, index = test.rpartition("_")
            if index == "0":  # first of its kind pays one-off imports and builds
                continue
            times.setdefault(kind if clock == "wall" else f"{kind}/cpu", []).append(seconds)
    return times


def report(times: dict[str, list[float]], rounds: int, cycles: int, title: str) -> None:
    shared = statistics.median(times["test_b_shared"])
    shared_cpu = statistics.median(times["test_b_shared/cpu"])
    print(f"\n{title}: setup + call + teardown, {rounds - 1} rounds / {cycles - 1} cycles")
    print(f"{'test':<52} {'median ms':>10} {'p90 ms':>8} {'x (b)':>7} {'CPU ms':>8} {'x (b)':>7}")
    for kind, label in KINDS.items():
        values = sorted(times[kind])
        median = statistics.median(values)
        p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
        cpu = statistics.median(times[f"{kind}/cpu"])
        print(
            f"{label:<52} {median * 1e3:>10.1f} {p90 * 1e3:>8.1f} {median / shared:>6.1f}x "
            f"{cpu * 1e3:>8.1f} {cpu / shared_cpu:>6.1f}x"
        )
    hardened = statistics.median(times["test_a_hardened"])
    cycle = statistics.median(times["test_readme_cycle"])
    seven = statistics.median(times["test_bseven_shared"])
    cycle_cpu = statistics.median(times["test_readme_cycle/cpu"])
    seven_cpu = statistics.median(times["test_bseven_shared/cpu"])
    print(
        f"\ntarget (a) <= 3x (b): {hardened / shared:.1f}x "
        f"{'met' if hardened <= 3 * shared else 'MISSED'}; "
        f"README cycle < 60 ms: {cycle * 1e3:.0f} ms {'met' if cycle < 0.06 else 'MISSED'} "
        f"({cycle / seven:.1f}x (b7), the same seven requests on a shared client); CPU "
        f"{cycle_cpu * 1e3:.0f} ms ({cycle_cpu / seven_cpu:.1f}x (b7))"
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
        f"{platform.python_version()}, load average {load} on {os.cpu_count()} CPUs"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=25, help="tests of each kind")
    parser.add_argument("--cycles", type=int, default=10, help="runs of the README example")
    parser.add_argument(
        "--baseline",
        help="a tree exported from an earlier commit (git archive <commit> src reference_app): "
        "the same run with it, after the current code's",
    )
    args = parser.parse_args(argv)
    report(run(args.rounds, args.cycles), args.rounds, args.cycles, "current code")
    if args.baseline:
        baseline = run(args.rounds, args.cycles, args.baseline)
        report(baseline, args.rounds, args.cycles, f"baseline {args.baseline}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
