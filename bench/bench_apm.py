"""Per-request overhead of APM middlewares over a bare FastAPI app on a trivial endpoint.

Run: ``.venv/bin/python bench/bench_apm.py [--batches 25] [--requests 500] [--interleaved 20000]
[--wall] [--baseline DIR] [--icount]``

Not a test (never collected by pytest). In one process and one run, four apps answer
``GET /ping`` (a trivial JSON endpoint):

- **bare**: no middleware;
- **ours**: ``reference_app.observability.ApmMiddleware`` (pure ASGI) over an ``ApmRegistry``;
- **BaseHTTPMiddleware**: the same metrics (same ``ApmRegistry``, same route-template key)
  recorded from a ``starlette.middleware.base.BaseHTTPMiddleware``;
- **instrumentator**: ``prometheus_fastapi_instrumentator.Instrumentator().instrument(app)`` with
  its default metrics, on a private ``CollectorRegistry``.

Each app is driven directly through ASGI (a scope dict, a ``receive`` that returns an empty body,
a ``send`` that drops messages) so the numbers are middleware cost, not HTTP-client cost; a
second, smaller measurement goes through ``httpx.AsyncClient(transport=ASGITransport(app))`` for
context, and a third wraps a minimal raw ASGI app (no FastAPI) to show the middleware's own cost
(the instrumentator needs a FastAPI app, so it is absent there). Batches are interleaved across
apps in a freshly shuffled order every round, with a garbage collection before each batch; the
table shows the median µs per request, the overhead over bare (the median over rounds of the
paired difference with bare in the same round, in µs and %), and each peer's overhead as a
multiple of ours. A first table interleaves the four FastAPI apps request by request (each
request timed on its own, a fresh random order every round) and shows means with an interval:
on a shared machine it is the most precise of the four, because load changes between batches no
longer land on one app's batch.
Times are process CPU time (``time.process_time``) unless ``--wall`` is given: on a shared, busy
machine CPU time is what the middleware itself costs.

``--icount`` measures no time: it counts the instructions each FastAPI app executes per request
under valgrind (cachegrind), from two runs per app that differ only in the number of requests.
The count does not move with the machine's load (about 0.1 % between runs), so it settles
whether a change made the middleware cheaper; it misses cache misses and the clock's own cost,
which the timed tables keep.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import platform
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_fastapi_instrumentator import Instrumentator
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.requests import Request
from starlette.responses import Response

from reference_app.observability import UNMATCHED_ROUTE, ApmMiddleware, ApmRegistry

TIMER: Callable[[], float] = time.process_time
#: ``--baseline``: an earlier (middleware, registry) pair, measured as "before" beside today's.
BASELINE: Any = None


def load_baseline(path: str) -> tuple[Any, Any]:
    """``ApmMiddleware`` and ``ApmRegistry`` of another copy of ``reference_app/observability``
    (e.g. ``git archive <commit> reference_app/observability | tar -x -C /tmp/base``), imported
    as a package of its own."""
    import importlib.util
    import sys

    init = Path(path) / "__init__.py"
    spec = importlib.util.spec_from_file_location(
        "apm_before", init, submodule_search_locations=[str(Path(path))]
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"no package at {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules["apm_before"] = module
    spec.loader.exec_module(module)
    return module.ApmMiddleware, module.ApmRegistry


def trivial_app() -> FastAPI:
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, bool]:
        return {"ok": True}

    return app


class BaseHttpApm(BaseHTTPMiddleware):
    """The same metrics as ApmMiddleware, the BaseHTTPMiddleware way."""

    def __init__(self, app: Any, registry: ApmRegistry) -> None:
        super().__init__(app)
        self.registry = registry

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = request.scope.get("route")
            template = getattr(route, "path", None) or UNMATCHED_ROUTE
            self.registry.record_request(
                request.method, template, status, time.perf_counter() - start
            )


async def raw_ping(scope: Any, receive: Any, send: Any) -> None:
    """The smallest ASGI app: what remains is the middleware's own cost."""
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b'{"ok":true}'})


def build_raw_apps() -> dict[str, Any]:
    return {
        "bare": raw_ping,
        "ours (ApmMiddleware)": ApmMiddleware(raw_ping, registry=ApmRegistry()),
        **(
            {"before (--baseline)": BASELINE[0](raw_ping, registry=BASELINE[1]())}
            if BASELINE is not None
            else {}
        ),
        "BaseHTTPMiddleware": BaseHttpApm(raw_ping, registry=ApmRegistry()),
    }


def _with(baseline: tuple[Any, Any]) -> FastAPI:
    app = trivial_app()
    app.add_middleware(baseline[0], registry=baseline[1]())
    return app


def build_apps() -> dict[str, Any]:
    bare = trivial_app()
    ours = trivial_app()
    ours_registry = ApmRegistry()
    ours.add_middleware(ApmMiddleware, registry=ours_registry)
    based = trivial_app()
    based_registry = ApmRegistry()
    based.add_middleware(BaseHttpApm, registry=based_registry)
    instrumented = trivial_app()
    Instrumentator(registry=CollectorRegistry()).instrument(instrumented)
    apps: dict[str, Any] = {
        "bare": bare,
        "ours (ApmMiddleware)": ours,
        **({"before (--baseline)": _with(BASELINE)} if BASELINE is not None else {}),
        "BaseHTTPMiddleware": based,
        "prometheus-fastapi-instrumentator": instrumented,
    }
    apps["_registries"] = (ours_registry, based_registry)
    return apps


SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0", "spec_version": "2.3"},
    "http_version": "1.1",
    "method": "GET",
    "scheme": "http",
    "path": "/ping",
    "raw_path": b"/ping",
    "root_path": "",
    "query_string": b"",
    "headers": [(b"host", b"bench"), (b"accept", b"*/*")],
    "client": ("127.0.0.1", 50000),
    "server": ("127.0.0.1", 80),
    "state": {},
}


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def asgi_batch(app: Any, n: int) -> float:
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    start = TIMER()
    for _ in range(n):
        await app(dict(SCOPE), receive, send)
    elapsed = TIMER() - start
    assert statuses == [200] * n, set(statuses)
    return elapsed / n


@dataclass
class Case:
    name: str
    app: Any
    client: httpx.AsyncClient | None = None
    asgi: list[float] = field(default_factory=list)
    http: list[float] = field(default_factory=list)


async def http_batch(client: httpx.AsyncClient, n: int) -> float:
    start = TIMER()
    for _ in range(n):
        response = await client.get("/ping")
        assert response.status_code == 200
    return (TIMER() - start) / n


async def run(batches: int, n: int, http_n: int) -> list[Case]:
    apps = build_apps()
    registries = apps.pop("_registries")
    cases = [Case(name, app) for name, app in apps.items()]
    for case in cases:
        case.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=case.app), base_url="http://bench"
        )
        await asgi_batch(case.app, 200)  # warm-up: builds the middleware stack
        await http_batch(case.client, 50)
    shuffler = random.Random(6)
    for _ in range(batches):
        # A fresh random order every round and a collected heap before every batch: on a busy
        # machine the position in a round (and whose batch pays for a GC pass) otherwise biases
        # the comparison by more than the effect being measured.
        order = cases[:]
        shuffler.shuffle(order)
        for case in order:
            gc.collect()
            case.asgi.append(await asgi_batch(case.app, n))
        for case in order:
            assert case.client is not None
            gc.collect()
            case.http.append(await http_batch(case.client, http_n))
    for case in cases:
        assert case.client is not None
        await case.client.aclose()
    # Both metric-recording middlewares really recorded every request.
    for registry in registries:
        assert registry.endpoint("GET /ping").count > batches * n
    return cases


async def run_raw(batches: int, n: int) -> list[Case]:
    cases = [Case(name, app) for name, app in build_raw_apps().items()]
    for case in cases:
        await asgi_batch(case.app, 200)
    shuffler = random.Random(7)
    for _ in range(batches):
        order = cases[:]
        shuffler.shuffle(order)
        for case in order:
            gc.collect()
            case.asgi.append(await asgi_batch(case.app, n))
    return cases


async def run_interleaved(rounds: int) -> tuple[list[str], list[list[float]]]:
    """Request by request: every round sends one request to each app in a fresh random order,
    each timed on its own. Drift and neighbours' load then hit every app alike within
    microseconds, and the per-app *mean* keeps every cost a request causes, including work that
    is batched (the registry folds its request queue every few hundred requests) and GC passes.
    Returns the app names and, per app, the time of each of its requests."""
    apps = build_apps()
    apps.pop("_registries")
    names = list(apps)
    times: list[list[float]] = [[] for _ in names]
    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    for app in apps.values():
        for _ in range(300):
            await app(dict(SCOPE), receive, send)
    order = list(range(len(names)))
    shuffler = random.Random(8)
    timer = TIMER
    for _ in range(rounds):
        shuffler.shuffle(order)
        for i in order:
            app, scope = apps[names[i]], dict(SCOPE)
            start = timer()
            await app(scope, receive, send)
            times[i].append(timer() - start)
    assert statuses == [200] * len(statuses), set(statuses)
    return names, times


def interleaved_table(names: list[str], times: list[list[float]], blocks: int = 20) -> Any:
    """Mean µs per request, overhead over bare with a ~95 % interval from the spread of the
    paired block means (the requests cut into ``blocks`` consecutive blocks)."""
    from rich.table import Table

    rounds = len(times[0])
    table = Table(
        title=f"APM middleware overhead on GET /ping — direct ASGI, interleaved request by "
        f"request, {rounds} requests per app (means)"
    )
    for column in ("middleware", "mean µs/request", "overhead µs (±95 %)", "overhead %", "× ours"):
        table.add_column(column, justify="left" if column == "middleware" else "right")
    size = rounds // blocks

    def block_means(series: list[float]) -> list[float]:
        return [statistics.fmean(series[b * size : (b + 1) * size]) for b in range(blocks)]

    bare = statistics.fmean(times[0])
    bare_blocks = block_means(times[0])
    ours = statistics.fmean(times[1]) - bare
    for name, series in zip(names, times, strict=True):
        overhead = statistics.fmean(series) - bare
        diffs = [a - b for a, b in zip(block_means(series), bare_blocks, strict=True)]
        spread = 2 * statistics.stdev(diffs) / blocks**0.5
        ratio = "" if series is times[0] else f"{overhead / ours:.1f}×" if ours > 0 else "—"
        table.add_row(
            name,
            f"{statistics.fmean(series) * 1e6:.1f}",
            f"{overhead * 1e6:.1f} ± {spread * 1e6:.1f}",
            f"{overhead / bare * 100:.1f} %",
            ratio,
        )
    return table


def paired_overhead(case: Case, bare: Case, attr: str) -> float:
    """Median over rounds of (this case − bare in the same round): drift cancels out."""
    mine, base = getattr(case, attr), getattr(bare, attr)
    return statistics.median(a - b for a, b in zip(mine, base, strict=True))


def report(
    cases: list[Case],
    raw: list[Case],
    interleaved: tuple[list[str], list[list[float]]],
    args: argparse.Namespace,
) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(interleaved_table(*interleaved))
    for group, label, attr in (
        (cases, f"direct ASGI call, {args.requests} requests per batch", "asgi"),
        (cases, f"through httpx ASGITransport, {args.http_requests} requests per batch", "http"),
        (raw, f"around a minimal raw ASGI app, {args.requests * 4} requests per batch", "asgi"),
    ):
        cases = group
        bare = statistics.median(getattr(cases[0], attr))
        ours = paired_overhead(cases[1], cases[0], attr)
        table = Table(title=f"APM middleware overhead on GET /ping — {label}")
        columns = (
            "middleware",
            "median µs/request",
            "overhead µs (paired)",
            "overhead %",
            "× ours",
        )
        for column in columns:
            table.add_column(column, justify="left" if column == "middleware" else "right")
        for case in cases:
            median = statistics.median(getattr(case, attr))
            overhead = paired_overhead(case, cases[0], attr)
            ratio = "" if case is cases[0] else f"{overhead / ours:.1f}×" if ours > 0 else "—"
            table.add_row(
                case.name,
                f"{median * 1e6:.1f}",
                f"{overhead * 1e6:.1f}",
                f"{overhead / bare * 100:.1f} %",
                ratio,
            )
        console.print(table)
    clock = "wall clock" if args.wall else "process CPU time"
    console.print(
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}, {args.batches} batches, {clock}"
    )


def icount_child(name: str, requests: int) -> None:
    """Under valgrind: warm one app up, then send it ``requests`` requests directly through ASGI."""
    apps = build_apps()
    apps.pop("_registries")
    app = apps[name]

    async def send(message: dict[str, Any]) -> None:
        pass

    async def drive() -> None:
        for _ in range(300 + requests):
            await app(dict(SCOPE), receive, send)

    asyncio.run(drive())


def _instructions(name: str, requests: int, baseline: str | None) -> int:
    import os
    import re
    import subprocess
    import sys

    command = [
        "valgrind",
        "--tool=cachegrind",
        "--cache-sim=no",
        "--cachegrind-out-file=/dev/null",
        sys.executable,
        __file__,
        "--icount-child",
        name,
        str(requests),
        *(["--baseline", baseline] if baseline else []),
    ]
    # A fixed hash seed: string hashing, hence dict probing, is then the same in every run.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(  # noqa: S603 - valgrind, our own interpreter and arguments
        command, capture_output=True, text=True, env=env, check=True
    )
    match = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if match is None:
        raise SystemExit(f"no instruction count from valgrind:\n{done.stderr[-2000:]}")
    return int(match.group(1).replace(",", ""))


def icount(args: argparse.Namespace) -> None:
    """Instructions per request of each FastAPI app, counted by valgrind (cachegrind): the
    difference between two runs that send ``low`` and ``high`` requests after the same start-up
    and warm-up, divided by ``high - low``. Deterministic to about 0.1 % whatever the machine's
    load, unlike any timing; it does not see cache misses or the clock's own cost."""
    from rich.console import Console
    from rich.table import Table

    low, high = args.icount_requests
    names = [name for name in build_apps() if name != "_registries"]
    per_request: dict[str, float] = {}
    for name in names:
        first = _instructions(name, low, args.baseline)
        second = _instructions(name, high, args.baseline)
        per_request[name] = (second - first) / (high - low)
    bare = per_request[names[0]]
    ours = per_request[names[1]] - bare
    table = Table(
        title=f"APM middleware overhead on GET /ping — instructions per request (valgrind, "
        f"{high} − {low} requests)"
    )
    for column in ("middleware", "instructions/request", "overhead", "overhead %", "× ours"):
        table.add_column(column, justify="left" if column == "middleware" else "right")
    for name in names:
        overhead = per_request[name] - bare
        table.add_row(
            name,
            f"{per_request[name]:,.0f}",
            f"{overhead:,.0f}",
            f"{overhead / bare * 100:.2f} %",
            "" if name == names[0] else f"{overhead / ours:.1f}×",
        )
    console = Console()
    console.print(table)
    console.print(
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
        f"{platform.python_version()}, {platform.machine()}"
    )


def main(argv: list[str] | None = None) -> int:
    global TIMER, BASELINE
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=25)
    parser.add_argument("--requests", type=int, default=500, help="ASGI requests per batch")
    parser.add_argument("--http-requests", type=int, default=100, help="httpx requests per batch")
    parser.add_argument(
        "--interleaved", type=int, default=20_000, help="requests per app, interleaved one by one"
    )
    parser.add_argument("--wall", action="store_true", help="time with perf_counter")
    parser.add_argument(
        "--baseline",
        help="an earlier copy of reference_app/observability, measured as 'before' in the run",
    )
    parser.add_argument(
        "--icount",
        action="store_true",
        help="count instructions per request under valgrind instead of timing (noise-free)",
    )
    parser.add_argument(
        "--icount-requests",
        type=int,
        nargs=2,
        default=(512, 2560),
        metavar=("LOW", "HIGH"),
        help="--icount: the two request counts whose difference is measured",
    )
    parser.add_argument(
        "--icount-child", nargs=2, metavar=("APP", "REQUESTS"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.baseline:
        BASELINE = load_baseline(args.baseline)
    if args.icount_child:
        icount_child(args.icount_child[0], int(args.icount_child[1]))
        return 0
    if args.icount:
        icount(args)
        return 0
    if args.wall:
        TIMER = time.perf_counter
    runner: Callable[[], Awaitable[list[Case]]] = lambda: run(  # noqa: E731
        args.batches, args.requests, args.http_requests
    )
    cases = asyncio.run(runner())
    raw = asyncio.run(run_raw(args.batches, args.requests * 4))
    interleaved = asyncio.run(run_interleaved(args.interleaved))
    report(cases, raw, interleaved, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
