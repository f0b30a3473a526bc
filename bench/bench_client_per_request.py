"""Hardened tests of an app that opens an httpx client per request, with and without the shared
TLS context, next to the same test without the plugin, in one run.

Run: ``.venv/bin/python bench/bench_client_per_request.py [--rounds 40]``

Not a test (never collected by pytest). One pytest process (``-n 0 -p no:randomly``) runs a
generated module whose tests are interleaved round-robin, so load changes hit every kind alike.
The app (Starlette) answers ``GET /quote`` with one outbound call made through a new
``httpx.AsyncClient()``, as many apps do (``async with httpx.AsyncClient() as http:``):

- **(a) hardened**: ``hardened_client`` with ``faults`` (the provider answered in memory); the
  default TLS context is shared across the session's clients;
- **(a0) hardened, no sharing**: the same with sharing switched off (each client loads the CA
  bundle, as before the shared context);
- **(r) respx**: the same request on a module-scoped ``TestClient`` with ``respx_mock`` routing
  the provider: the hand-written test without the plugin (and without its isolation).

Per-test time is setup + call + teardown as pytest reports them, next to the process CPU time;
the first test of each kind (one-off imports) is left out, medians are printed with ratios.

Then, in this process, the CPU time of building one client of each kind (httpx, httpx2, the
OpenAI and Anthropic SDKs' async clients; those installed), with the context shared and not,
interleaved in batches.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench_per_test import CONFTEST as TIMING_HOOKS  # this folder: run as a script
from bench_per_test import by_kind

# bench_per_test's hooks (each test's wall and CPU time to BENCH_PER_TEST_OUT), then the app.
CONFTEST = (
    TIMING_HOOKS
    + """
import httpx
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from pytest_hardening._shared_tls import TLSPatches


def create_app():
    async def quote(request):
        async with httpx.AsyncClient(base_url="https://quotes.example", timeout=2) as http:
            response = await http.get("/q")
        return JSONResponse({"price": response.json()["price"]})

    return Starlette(routes=[Route("/quote", quote)])


@pytest.fixture
def hardening_app_factory():
    return create_app


@pytest.fixture
def hardening_providers():
    return {"quotes": ("https://quotes.example", httpx.Response(200, json={"price": 7}))}


@pytest.fixture(autouse=True)
def _no_sharing(request, monkeypatch):
    if "_nosharing_" in request.node.name:
        monkeypatch.setattr(TLSPatches, "catch_up", lambda self: None)  # patches nothing
"""
)

MODULE = """
import pytest
from fastapi.testclient import TestClient

from conftest import create_app


@pytest.fixture(scope="module")
def shared():
    with TestClient(create_app()) as client:
        yield client

{tests}
"""

ROUND = """
def test_a_hardened_{i}(hardened_client, faults):
    assert hardened_client.get("/quote").json() == {{"price": 7}}


def test_a0_nosharing_{i}(hardened_client, faults):
    assert hardened_client.get("/quote").json() == {{"price": 7}}


def test_r_respx_{i}(shared, respx_mock):
    respx_mock.get("https://quotes.example/q").respond(200, json={{"price": 7}})
    assert shared.get("/quote").json() == {{"price": 7}}
"""

KINDS = {
    "test_a_hardened": "(a) hardened_client, shared TLS context",
    "test_a0_nosharing": "(a0) hardened_client, a CA bundle per client",
    "test_r_respx": "(r) shared TestClient + respx_mock, no plugin",
}


def run(rounds: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory(prefix="bench-client-per-request-") as tmp:
        work = Path(tmp)
        (work / "conftest.py").write_text(CONFTEST)
        tests = "".join(ROUND.format(i=i) for i in range(rounds))
        (work / "test_rounds.py").write_text(MODULE.replace("{tests}", tests))
        out = work / "times.json"
        command = [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:randomly"]
        command += ["-p", "no:cacheprovider", "-p", "pytest_hardening", "test_rounds.py"]
        env = {**os.environ, "BENCH_PER_TEST_OUT": str(out), "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(  # noqa: S603 (this interpreter, our arguments)
            command, cwd=work, capture_output=True, text=True, env=env, check=False
        )
        if done.returncode != 0:
            raise SystemExit(f"the generated tests failed:\n{done.stdout[-4000:]}{done.stderr}")
        return by_kind(json.loads(out.read_text()))


def report(times: dict[str, list[float]], rounds: int) -> None:
    base = statistics.median(times["test_r_respx"])
    base_cpu = statistics.median(times["test_r_respx/cpu"])
    print(f"\nsetup + call + teardown, {rounds - 1} rounds")
    print(f"{'test':<48} {'median ms':>10} {'x (r)':>7} {'CPU ms':>8} {'x (r)':>7}")
    for kind, label in KINDS.items():
        wall = statistics.median(times[kind])
        cpu = statistics.median(times[f"{kind}/cpu"])
        print(
            f"{label:<48} {wall * 1e3:>10.1f} {wall / base:>6.2f}x "
            f"{cpu * 1e3:>8.1f} {cpu / base_cpu:>6.2f}x"
        )
    shared = statistics.median(times["test_a_hardened"])
    unshared = statistics.median(times["test_a0_nosharing"])
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(
        f"\nsharing the TLS context: {unshared / shared:.1f}x less per test\n"
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
        f"{platform.python_version()}, load average {load} on {os.cpu_count()} CPUs"
    )


def constructions(batches: int = 9, per_batch: int = 5) -> None:
    """Median CPU ms to build one client, sharing the TLS context or not."""
    import importlib
    import time

    from pytest_hardening._shared_tls import SharedTLSContexts

    makers: dict[str, Any] = {}
    for label, module, name, kwargs in (
        ("httpx.AsyncClient()", "httpx", "AsyncClient", {}),
        ("httpx2.AsyncClient()", "httpx2", "AsyncClient", {}),
        ("openai.AsyncOpenAI()", "openai", "AsyncOpenAI", {"api_key": "sk-bench"}),
        ("anthropic.AsyncAnthropic()", "anthropic", "AsyncAnthropic", {"api_key": "sk-bench"}),
    ):
        try:
            cls = getattr(importlib.import_module(module), name)
        except ImportError:
            continue
        makers[label] = functools.partial(cls, **kwargs)
    shared = SharedTLSContexts()
    times: dict[tuple[str, bool], list[float]] = {}
    for _ in range(batches):
        for label, make in makers.items():
            for sharing in (False, True):
                patches = shared.patch() if sharing else None
                make()  # the first of a batch may build the shared context
                start = time.process_time()
                for _ in range(per_batch):
                    make()
                spent = (time.process_time() - start) / per_batch
                if patches is not None:
                    patches.undo()
                times.setdefault((label, sharing), []).append(spent)
    print(f"\nbuilding one client, CPU ms (median of {batches} batches of {per_batch})")
    print(f"{'client':<30} {'own context':>12} {'shared':>8} {'ratio':>7}")
    for label in makers:
        own = statistics.median(times[(label, False)])
        common = statistics.median(times[(label, True)])
        print(f"{label:<30} {own * 1e3:>12.1f} {common * 1e3:>8.2f} {own / common:>6.0f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="tests of each kind")
    args = parser.parse_args(argv)
    report(run(args.rounds), args.rounds)
    constructions()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
