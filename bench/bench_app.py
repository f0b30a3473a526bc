"""The reference app's request throughput on a healthy path, with and without APM + breakers.

Run: ``.venv/bin/python bench/bench_app.py [--rounds 15] [--requests 100] [--wall]``

Not a test (never collected by pytest). In one process and one run, four instances of the
reference app (development mode, Sentry off, fake providers answered by pytest-hardening's
``FaultInjector`` through an ``httpx.MockTransport``, each with its own SQLite file) serve the
same traffic, driven directly through ASGI with the lifespan running: per round, ``--requests``
× ``POST /api/calls`` (Shopify, OpenAI and Exotel fakes are called; 201) and as many
``GET /api/calls/{id}``. The four instances:

- **full**: the app as ``create_app`` builds it;
- **no APM**: ``ApmMiddleware`` taken out of ``app.user_middleware`` and ``app.state.apm``
  replaced by a registry whose ``record_*`` methods do nothing (the providers and the repository
  still call them);
- **no breakers**: ``app.state.breakers`` replaced by pass-through objects (``acall`` just awaits
  the function);
- **neither**.

The app has no switch for this: the variants are made through the seams it already has
(``app.state`` is read when the lifespan builds the services, the middleware stack is built on
the first request), before the lifespan starts. Rounds are shuffled and each batch starts from a
collected heap; the table shows median requests/s of process CPU time (``--wall``: wall clock)
and the cost of APM + breakers relative to the bare variant.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from pytest_hardening import FaultInjector, LifespanManager
from reference_app import create_app, fakes, load_settings
from reference_app.observability import ApmMiddleware, ApmRegistry
from reference_app.testing import DEV_ENV, TEST_MERCHANT_API_KEY

TIMER: Callable[[], float] = time.process_time
CALL = {"order_id": "5521", "shop": "acme.myshopify.com", "phone": "+919876543210"}


class NullApm(ApmRegistry):
    """Records nothing (the ``no APM`` variants)."""

    def record_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def record_db(self, *args: Any, **kwargs: Any) -> None:
        pass

    def record_external(self, *args: Any, **kwargs: Any) -> None:
        pass


class PassThrough:
    """Stands in for a circuit breaker and protects nothing (the ``no breakers`` variants)."""

    async def acall(self, fn: Callable[..., Awaitable[Any]], *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("fallback", None)
        return await fn(*args, **kwargs)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        kwargs.pop("fallback", None)
        return fn(*args, **kwargs)


def env(db: Path) -> dict[str, str]:
    """The test harness's development env, with Sentry off and a SQLite file of its own."""
    return {**DEV_ENV, "ENABLE_SENTRY": "false", "DATABASE_URL": f"sqlite+aiosqlite:///{db}"}


def build(db: Path, *, apm: bool, breakers: bool) -> FastAPI:
    # The fakes, served by the plugin's fault injector (healthy: no fault is ever set).
    providers = httpx.MockTransport(FaultInjector(fakes.providers()).respond)
    app = create_app(load_settings(env(db)), http_transport=providers)
    if not apm:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not ApmMiddleware]
        app.state.apm = NullApm()
    if not breakers:
        app.state.breakers = {name: PassThrough() for name in app.state.breakers}
    return app


async def request(app: Any, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bench"),
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {TEST_MERCHANT_API_KEY}".encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent = False
    status = 0
    chunks: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)  # no disconnect while the app is working
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def batch(app: Any, n: int) -> float:
    payload = json.dumps(CALL).encode()
    start = TIMER()
    for _ in range(n):
        status, body = await request(app, "POST", "/api/calls", payload)
        assert status == 201, (status, body[:200])
        call_id = json.loads(body)["id"]
        status, body = await request(app, "GET", f"/api/calls/{call_id}")
        assert status == 200, (status, body[:200])
    return (TIMER() - start) / (2 * n)


@dataclass
class Variant:
    name: str
    app: FastAPI
    samples: list[float] = field(default_factory=list)


async def run(rounds: int, n: int, work: Path) -> list[Variant]:
    variants = [
        Variant("full (APM + breakers)", build(work / "a.db", apm=True, breakers=True)),
        Variant("no APM", build(work / "b.db", apm=False, breakers=True)),
        Variant("no breakers", build(work / "c.db", apm=True, breakers=False)),
        Variant("neither", build(work / "d.db", apm=False, breakers=False)),
    ]
    async with (
        LifespanManager(variants[0].app),
        LifespanManager(variants[1].app),
        LifespanManager(variants[2].app),
        LifespanManager(variants[3].app),
    ):
        for variant in variants:
            await batch(variant.app, 20)  # warm-up: middleware stack, tables, connection pool
        shuffler = random.Random(3)
        for _ in range(rounds):
            order = variants[:]
            shuffler.shuffle(order)
            for variant in order:
                gc.collect()
                variant.samples.append(await batch(variant.app, n))
        full = variants[0].app.state.apm
        assert full.endpoint("POST /api/calls").count >= rounds * n
        assert full.external("exotel").count >= rounds * n
    return variants


def report(variants: list[Variant], args: argparse.Namespace) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    bare = statistics.median(variants[-1].samples)
    table = Table(
        title=f"Reference app throughput, healthy path ({args.requests} × POST /api/calls + "
        f"GET /api/calls/{{id}} per batch, {args.rounds} rounds)"
    )
    for column in ("variant", "median µs/request", "requests/s", "cost vs neither"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    for variant in variants:
        median = statistics.median(variant.samples)
        pairs = zip(variant.samples, variants[-1].samples, strict=True)
        paired = statistics.median(a / b - 1 for a, b in pairs)
        table.add_row(
            variant.name,
            f"{median * 1e6:.0f}",
            f"{1 / median:,.0f}",
            "" if variant is variants[-1] else f"{paired * 100:+.1f} %",
        )
    console.print(table)
    clock = "wall clock" if args.wall else "process CPU time (all threads)"
    console.print(
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.python_implementation()} "
        f"{platform.python_version()}, {clock}, load average {os.getloadavg()[0]:.1f}, "
        f"bare median {bare * 1e6:.0f} µs/request"
    )


def main(argv: list[str] | None = None) -> int:
    global TIMER
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--requests", type=int, default=60, help="POST+GET pairs per batch")
    parser.add_argument("--wall", action="store_true", help="time with perf_counter")
    args = parser.parse_args(argv)
    if args.wall:
        TIMER = time.perf_counter
    with tempfile.TemporaryDirectory(prefix="bench-app-") as tmp:
        variants = asyncio.run(run(args.rounds, args.requests, Path(tmp)))
    report(variants, args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
