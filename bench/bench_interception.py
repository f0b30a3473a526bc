"""Interception overhead per request: httpx and httpx2 side by side, and against respx alone.

Run: ``.venv/bin/python bench/bench_interception.py [--batches 11] [--requests 1000] [--wall]``

Not a test (never collected by pytest). One process, one run. Each case sends ``--requests``
GETs per batch with one client (sync and async), and the batches of all cases are interleaved
round-robin so that drift and other load hit every case alike; the table shows the median
microseconds per request and the ratios:

- ``floor``: the library's own in-memory ``MockTransport`` (no interception at all);
- ``respx``: a bare ``respx.MockRouter`` with one route answering ``200 {}`` (httpx only: respx
  does not see httpx2);
- ``FaultInjector``: a started injector with one provider whose healthy handler answers
  ``200 {}``, call log on, network guard on; for httpx2 the request and the response are
  converted between the two libraries.

Timed in process CPU time (``--wall`` for wall time): the machine is shared.
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import datetime, timezone
from typing import Any

import httpx
import httpx2
import respx

from pytest_hardening import FaultInjector, Provider

URL = "https://api.bench.example/v1/items"


def _ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={})


def _ok2(request: httpx2.Request) -> httpx2.Response:
    return httpx2.Response(200, json={})


@contextmanager
def _respx() -> Iterator[None]:
    router = respx.MockRouter(assert_all_called=False)
    router.route().mock(side_effect=_ok)
    with router:
        yield


@contextmanager
def _injector() -> Iterator[None]:
    with FaultInjector({"bench": Provider("https://api.bench.example", _ok)}) as faults:
        yield
        assert faults.calls("bench"), "the injector saw no request"


Setup = Callable[[], AbstractContextManager[Any]]


class Case:
    def __init__(self, name: str, setup: Setup, client: Callable[[], Any], is_async: bool) -> None:
        self.name, self.setup, self.client, self.is_async = name, setup, client, is_async
        self.samples: list[float] = []


def _cases() -> list[Case]:
    def floor(lib: Any, handler: Any, client: str) -> Callable[[], Any]:
        return lambda: getattr(lib, client)(transport=lib.MockTransport(handler))

    cases = []
    for mode, client in (("sync", "Client"), ("async", "AsyncClient")):
        is_async = mode == "async"
        cases += [
            Case(f"httpx {mode} floor", nullcontext, floor(httpx, _ok, client), is_async),
            Case(f"httpx {mode} respx", _respx, getattr(httpx, client), is_async),
            Case(f"httpx {mode} FaultInjector", _injector, getattr(httpx, client), is_async),
            Case(f"httpx2 {mode} floor", nullcontext, floor(httpx2, _ok2, client), is_async),
            Case(f"httpx2 {mode} FaultInjector", _injector, getattr(httpx2, client), is_async),
        ]
    return cases


def _batch(case: Case, requests: int, clock: Callable[[], float]) -> float:
    """Seconds per request for one batch (client built and warmed up outside the timing)."""
    with case.setup():
        if not case.is_async:
            with case.client() as client:
                client.get(URL)
                start = clock()
                for _ in range(requests):
                    client.get(URL)
                return (clock() - start) / requests

        async def run() -> float:
            async with case.client() as client:
                await client.get(URL)
                start = clock()
                for _ in range(requests):
                    await client.get(URL)
                return (clock() - start) / requests

        return asyncio.run(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=11)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--wall", action="store_true", help="wall clock instead of CPU time")
    args = parser.parse_args()
    clock = time.perf_counter if args.wall else time.process_time
    cases = _cases()
    for _ in range(args.batches):
        for case in cases:
            case.samples.append(_batch(case, args.requests, clock))
    median = {c.name: statistics.median(c.samples) * 1e6 for c in cases}

    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    timer = "wall time" if args.wall else "process CPU time"
    print(f"{stamp}, CPython {platform.python_version()}, httpx {httpx.__version__}, ", end="")
    print(f"httpx2 {httpx2.__version__}, respx {respx.__version__}")
    print(f"{args.batches} batches x {args.requests} requests per case, {timer}, medians\n")
    print("| case | µs/request | overhead over floor (µs) |")
    print("|---|---:|---:|")
    for case in cases:
        floor = median[case.name.rsplit(" ", 1)[0] + " floor"]
        extra = median[case.name] - floor
        print(f"| {case.name} | {median[case.name]:.1f} | {extra:+.1f} |")
    print()
    for mode in ("sync", "async"):
        injector = median[f"httpx {mode} FaultInjector"]
        respx_only = median[f"httpx {mode} respx"]
        injector2 = median[f"httpx2 {mode} FaultInjector"]
        print(
            f"{mode}: FaultInjector/respx (httpx) = {injector / respx_only:.2f}x; "
            f"FaultInjector httpx2/httpx = {injector2 / injector:.2f}x"
        )


if __name__ == "__main__":
    main()
