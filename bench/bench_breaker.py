"""Per-call overhead of reference_app.resilience.CircuitBreaker against peer libraries.

Run: ``.venv/bin/python bench/bench_breaker.py [--batches 15] [--calls 20000]``

Not a test (never collected by pytest). Measures, in one run and one process, four paths:
sync success, sync open-rejection, async success, async open-rejection, for a bare call,
ours, pybreaker, circuitbreaker, aiobreaker and purgatory. Each case is timed in repeated
batches (interleaved round-robin so machine drift hits every case alike); the table shows the
median per-call time minus the bare call's median (the overhead), and each peer's overhead as a
multiple of ours. Every library is used in its decorator form (ours also through ``call``).
Times are process CPU time (``time.process_time``) unless ``--wall`` is given.

``--baseline DIR`` also measures another copy of ``reference_app/resilience`` (e.g. exported
from an earlier commit: ``git archive <commit> reference_app/resilience | tar -x -C /tmp/base``,
then ``--baseline /tmp/base/reference_app/resilience``) as "before" rows in the same run, so a
change to the breaker is compared side by side under the same machine load. Rows marked "app"
protect an ``async def`` with ``acall``: the form every breaker of the reference app uses; the
"before" one also sets a result check, as five of the app's six breakers did.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import os
import platform
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import reference_app.resilience as resilience

FOREVER = 10**6  # seconds: an opened breaker stays open for the whole run

# The "before" copy of the breaker package (``--baseline``), or None.
BASELINE: ModuleType | None = None

# CPU time of this process by default: other work on a shared machine then costs us cache
# misses, not whole time slices. ``--wall`` switches to perf_counter.
TIMER: Callable[[], float] = time.process_time


class Boom(Exception):
    pass


def target() -> int:
    return 1


def failing() -> int:
    raise Boom


async def atarget() -> int:
    return 1


async def afailing() -> int:
    raise Boom


@dataclass
class Case:
    library: str
    path: str
    fn: Callable[[], Any] | None  # None: the library has no such path
    note: str = ""
    samples: list[float] = field(default_factory=list)  # ns per call, one per batch


def load_baseline(directory: Path) -> ModuleType:
    """Import the breaker package in ``directory`` under a name of its own (its imports are
    all relative, so it runs beside the current one)."""
    name = "_baseline_resilience"
    spec = importlib.util.spec_from_file_location(
        name, directory / "__init__.py", submodule_search_locations=[str(directory)]
    )
    if spec is None or spec.loader is None:
        raise SystemExit(f"--baseline: no Python package in {directory}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def via(method: Callable[[Any], Any], fn: Callable[[], Any]) -> Callable[[], Any]:
    """``lambda: method(fn)``, the shape the explicit-call rows have always been timed in."""
    return lambda: method(fn)


def our_versions() -> list[tuple[str, Any]]:
    versions: list[tuple[str, Any]] = [("ours", resilience)]
    if BASELINE is not None:
        versions.append(("before", BASELINE))
    return versions


# -- timing loops (identical shape for every library) ------------------------------------------


def loop_sync(fn: Callable[[], Any], n: int) -> float:
    t0 = TIMER()
    for _ in range(n):
        fn()
    return TIMER() - t0


def loop_sync_reject(fn: Callable[[], Any], n: int) -> float:
    t0 = TIMER()
    for _ in range(n):
        try:  # noqa: SIM105 - contextlib.suppress would add its own cost to every call
            fn()
        except Exception:  # noqa: S110 - the rejection is the thing being timed
            pass
    return TIMER() - t0


async def loop_async(fn: Callable[[], Awaitable[Any]], n: int) -> float:
    t0 = TIMER()
    for _ in range(n):
        await fn()
    return TIMER() - t0


async def loop_async_reject(fn: Callable[[], Awaitable[Any]], n: int) -> float:
    t0 = TIMER()
    for _ in range(n):
        try:  # noqa: SIM105 - contextlib.suppress would add its own cost to every call
            await fn()
        except Exception:  # noqa: S110 - the rejection is the thing being timed
            pass
    return TIMER() - t0


# -- building each library's protected callables -----------------------------------------------


def trip(fn: Callable[[], Any], times: int) -> None:
    for _ in range(times):
        with contextlib.suppress(Exception):  # failures or rejections, both fine here
            fn()


async def atrip(fn: Callable[[], Awaitable[Any]], times: int) -> None:
    for _ in range(times):
        with contextlib.suppress(Exception):
            await fn()


def build_sync() -> tuple[list[Case], list[Case]]:
    import aiobreaker
    import circuitbreaker
    import purgatory
    import pybreaker

    ok: list[Case] = [Case("bare", "sync success", target)]
    rej: list[Case] = []

    for label, module in our_versions():
        ours = module.CircuitBreaker("bench", open_timeout=FOREVER)
        ok.append(Case(label, "sync success", ours(target)))
        ok.append(Case(f"{label} (call)", "sync success", via(ours.call, target)))
        ours_open = module.CircuitBreaker("bench-open", open_timeout=FOREVER)
        ours_open.force_open()
        rej.append(Case(label, "sync rejection", ours_open(target)))
        rej.append(Case(f"{label} (call)", "sync rejection", via(ours_open.call, target)))

    pyb = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=FOREVER)
    ok.append(Case("pybreaker", "sync success", pyb(target)))
    pyb_open = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=FOREVER)
    pyb_open.open()
    rej.append(Case("pybreaker", "sync rejection", pyb_open(target)))

    cb = circuitbreaker.CircuitBreaker(failure_threshold=5, recovery_timeout=FOREVER)
    ok.append(Case("circuitbreaker", "sync success", cb(target)))
    cb_open = circuitbreaker.CircuitBreaker(failure_threshold=5, recovery_timeout=FOREVER)
    trip(cb_open(failing), 5)
    rej.append(Case("circuitbreaker", "sync rejection", cb_open(target)))

    aio = aiobreaker.CircuitBreaker(fail_max=5, timeout_duration=timedelta(seconds=FOREVER))
    ok.append(Case("aiobreaker", "sync success", aio(target)))
    aio_open = aiobreaker.CircuitBreaker(fail_max=5, timeout_duration=timedelta(seconds=FOREVER))
    aio_open.open()
    rej.append(Case("aiobreaker", "sync rejection", aio_open(target)))

    pur = purgatory.SyncCircuitBreakerFactory(default_threshold=5, default_ttl=FOREVER)
    ok.append(Case("purgatory", "sync success", pur("bench")(target)))
    trip(pur("bench-open")(failing), 5)
    rej.append(
        Case(
            "purgatory",
            "sync rejection",
            pur("bench-open")(target),
            "re-raises one exception object: traceback grows every rejection",
        )
    )
    rej.insert(0, Case("bare", "sync rejection", target, "bare = a successful plain call"))
    return ok, rej


async def build_async() -> tuple[list[Case], list[Case]]:
    import aiobreaker
    import circuitbreaker
    import purgatory

    ok: list[Case] = [Case("bare", "async success", atarget)]
    rej: list[Case] = [Case("bare", "async rejection", atarget, "bare = a successful plain call")]

    app = "acall: the app's form"
    for label, module in our_versions():
        ours = module.CircuitBreaker("bench", open_timeout=FOREVER)
        ok.append(Case(label, "async success", ours(atarget)))
        ok.append(Case(f"{label} (call)", "async success", via(ours.acall, atarget), app))
        ours_open = module.CircuitBreaker("bench-open", open_timeout=FOREVER)
        ours_open.force_open()
        rej.append(Case(label, "async rejection", ours_open(atarget)))
        rej.append(
            Case(
                f"{label} (call)",
                "async rejection",
                via(ours_open.acall, atarget),
                app,
            )
        )
        if label != "ours":
            # Before: five of the app's six breakers set a result check; it never fired (the
            # provider clients return tuples) but it took them off the fast path.
            checked = module.CircuitBreaker(
                "bench-checked", open_timeout=FOREVER, is_failure_result=module.http_failure
            )
            note = "acall + is_failure_result, as 5 of the app's 6 breakers"
            ok.append(
                Case(
                    f"{label} (app)",
                    "async success",
                    via(checked.acall, atarget),
                    note,
                )
            )

    why = "no asyncio path (call_async needs tornado)"
    ok.append(Case("pybreaker", "async success", None, why))
    rej.append(Case("pybreaker", "async rejection", None, why))

    cb = circuitbreaker.CircuitBreaker(failure_threshold=5, recovery_timeout=FOREVER)
    ok.append(Case("circuitbreaker", "async success", cb(atarget)))
    cb_open = circuitbreaker.CircuitBreaker(failure_threshold=5, recovery_timeout=FOREVER)
    await atrip(cb_open(afailing), 5)
    rej.append(Case("circuitbreaker", "async rejection", cb_open(atarget)))

    aio = aiobreaker.CircuitBreaker(fail_max=5, timeout_duration=timedelta(seconds=FOREVER))
    ok.append(Case("aiobreaker", "async success", aio(atarget)))
    aio_open = aiobreaker.CircuitBreaker(fail_max=5, timeout_duration=timedelta(seconds=FOREVER))
    aio_open.open()
    rej.append(Case("aiobreaker", "async rejection", aio_open(atarget)))

    pur = purgatory.AsyncCircuitBreakerFactory(default_threshold=5, default_ttl=FOREVER)
    await pur.initialize()
    ok.append(Case("purgatory", "async success", pur("bench")(atarget)))
    await atrip(pur("bench-open")(afailing), 5)
    rej.append(
        Case(
            "purgatory",
            "async rejection",
            pur("bench-open")(atarget),
            "re-raises one exception object: traceback grows every rejection",
        )
    )
    return ok, rej


# -- running and reporting ---------------------------------------------------------------------


def run_sync_group(cases: list[Case], loop: Callable[..., float], batches: int, n: int) -> None:
    live = [c for c in cases if c.fn is not None]
    for c in live:
        loop(c.fn, n // 10)  # warm-up
    for _ in range(batches):
        for c in live:
            c.samples.append(loop(c.fn, n) / n * 1e9)


async def run_async_group(
    cases: list[Case], loop: Callable[..., Awaitable[float]], batches: int, n: int
) -> None:
    live = [c for c in cases if c.fn is not None]
    for c in live:
        await loop(c.fn, n // 10)
    for _ in range(batches):
        for c in live:
            c.samples.append(await loop(c.fn, n) / n * 1e9)


def report(groups: list[list[Case]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Circuit breaker per-call overhead (median ns over a bare call)")
    for col in ("path", "library", "median ns/call", "overhead ns", "× ours", "note"):
        table.add_column(col, justify="left" if col in ("path", "library", "note") else "right")
    for group in groups:
        bare = statistics.median(group[0].samples)
        ours_case = next(c for c in group if c.library == "ours")
        ours = statistics.median(ours_case.samples) - bare
        for c in group:
            if c.fn is None:
                table.add_row(c.path, c.library, "—", "—", "—", f"skipped: {c.note}")
                continue
            med = statistics.median(c.samples)
            over = med - bare
            ratio = "" if c.library == "bare" else f"{over / ours:.1f}×" if ours > 0 else "n/a"
            table.add_row(c.path, c.library, f"{med:,.0f}", f"{over:,.0f}", ratio, c.note)
        table.add_section()
    console = Console(width=140)
    console.print(table)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    console.print(
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; python {platform.python_version()} "
        f"({platform.python_implementation()}), {platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {load}; timer: {TIMER.__name__} (other work on the machine "
        "inflates absolute numbers; compare ratios)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--batches", type=int, default=15, help="timed batches per case")
    parser.add_argument("--calls", type=int, default=20_000, help="calls per batch")
    parser.add_argument("--wall", action="store_true", help="time with perf_counter, not CPU")
    parser.add_argument(
        "--baseline", type=Path, help="another reference_app/resilience to measure as 'before'"
    )
    args = parser.parse_args(argv)
    global TIMER, BASELINE
    TIMER = time.perf_counter if args.wall else time.process_time
    BASELINE = None if args.baseline is None else load_baseline(args.baseline)

    sync_ok, sync_rej = build_sync()
    run_sync_group(sync_ok, loop_sync, args.batches, args.calls)
    run_sync_group(sync_rej, loop_sync_reject, args.batches, args.calls)

    async def run_async() -> tuple[list[Case], list[Case]]:
        ok, rej = await build_async()
        await run_async_group(ok, loop_async, args.batches, args.calls)
        await run_async_group(rej, loop_async_reject, args.batches, args.calls)
        return ok, rej

    async_ok, async_rej = asyncio.run(run_async())
    report([sync_ok, sync_rej, async_ok, async_rej])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
