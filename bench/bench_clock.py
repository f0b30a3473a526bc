"""What starting, first moving and stopping the clock cost, without and with a ClockCache.

Run: ``.venv/bin/python bench/bench_clock.py [--rounds 12]``

Not a test (never collected by pytest). One process that has imported what a hardened test of
the reference app imports (the app, the AI SDKs that Sentry's integrations pull in) and built
the app once; then, interleaved round by round, a clock without a cache (a fresh clock every
time, as before issue 11) and a clock sharing one ``ClockCache`` (as the plugin's clocks do in a
session): ``start()``, the first ``advance(1)`` (the sweep for stored real time functions),
``stop()``. Wall time read through freezegun's saved real ``perf_counter``; the first two rounds
are left out; medians.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=12)
    args = parser.parse_args(argv)

    import anthropic  # noqa: F401 - what Sentry's default integrations import in a test run
    import freezegun.api
    import openai  # noqa: F401

    from pytest_hardening._clock import Clock
    from pytest_hardening._clock_cache import ClockCache
    from reference_app import create_app
    from reference_app.testing import DEV_ENV

    real = freezegun.api.real_perf_counter
    with tempfile.TemporaryDirectory() as tmp:
        os.environ.update({**DEV_ENV, "DATABASE_URL": f"sqlite+aiosqlite:///{Path(tmp) / 'db'}"})
        app = create_app()
        cache = ClockCache()
        times: dict[str, list[float]] = {}
        for index in range(args.rounds):
            for kind, shared in (("no cache", None), ("ClockCache", cache)):
                started = real()
                clock = Clock(cache=shared)
                clock.start()
                ready = real()
                clock.advance(1)
                moved = real()
                clock.stop()
                stopped = real()
                if index >= 2:
                    for phase, seconds in (
                        ("start", ready - started),
                        ("first advance", moved - ready),
                        ("stop", stopped - moved),
                    ):
                        times.setdefault(f"{phase:<14} {kind}", []).append(seconds)
        app.state.sentry.close()
    print(
        f"{len(sys.modules)} modules, {len(gc.get_objects())} gc-tracked objects, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    for name, values in times.items():
        print(f"{name:<30} median {statistics.median(values) * 1e3:7.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
