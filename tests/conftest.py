"""Shared test configuration, and a real PostgreSQL for the database-backed tests.

``postgres_admin`` (session) is the server: the one ``DATABASE_URL`` names when it is a
PostgreSQL URL (a CI service), else one started from the ``pgserver`` wheel for this session (per
xdist worker). ``postgres_url`` is a fresh database on it per test; ``database_url`` runs a test
against SQLite and PostgreSQL.
"""

from __future__ import annotations

import atexit
import gc
import importlib.util
import itertools
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_hardening._clock_cache import ClockCache
from tests._postgres import LocalPostgres, PostgresAdmin, is_postgres_url

pytest_plugins = ["pytester", "tests._crash_report", "tests._rewrite_cache"]


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (the README's command): one worker per core, plus two. The live tests spend
    much of their time waiting on real time (a provider's timeout, a breaker's open timeout, a
    server starting), and the two longest run side by side from the start: the extra workers
    keep the cores busy meanwhile (on 2 cores, 10 s of idle CPU in a run instead of 25 s).
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when it is set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    return cores() + 2


def cores() -> int:
    """The cores this process may run on."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return count or 1


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Tell each xdist worker the run's ``--dist`` mode: xdist sets a worker's own to "no"."""
    node.workerinput["hardening_dist"] = node.config.getoption("dist")


#: Seconds a ``live`` or ``slow`` test is expected to take when its marker does not say
#: (``@pytest.mark.live(seconds=30)``): a guess that orders it among the others.
DEFAULT_SECONDS = {"live": 1.0, "slow": 2.0}


#: Slow tests expected to take this long or more are spread one by one; shorter ones by module.
SPLIT_SECONDS = 5.0


def expected_seconds(item: pytest.Item) -> float:
    """The longest of the ``live``/``slow`` markers' estimates; 0 for any other test."""
    return max(
        (
            float(marker.kwargs.get("seconds", DEFAULT_SECONDS[marker.name]))
            for name in DEFAULT_SECONDS
            for marker in item.iter_markers(name)
        ),
        default=0.0,
    )


@pytest.hookimpl(trylast=True)  # after pytest-randomly's shuffle, which it keeps otherwise
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--dist worksteal``, the slow tests (``live`` or ``slow``: seconds of other
    processes, servers or real timeouts) start first, spread over the workers, longest first.

    The scheduler hands each worker a contiguous share of the collection and steals from the
    ends of the queues, so the front of each share stays with its worker. Each slow test (or
    a module's shorter ones, together) goes to the share with the fewest expected seconds so
    far (longest-processing-time first): the
    two 30 s live load tests then run side by side from the start, while the other workers keep
    the cores busy, instead of one after the other at the end (62 s of one run's 120 s). The
    live tests, which mostly wait on real time, go only to the workers beyond one per core:
    spread over all four workers on 2 cores, they left the cores a third idle for ten seconds
    at the start (the suite took 78.5 and 81.1 s, against 74.1 and 73.8 s, alternated)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None or workerinput.get("hardening_dist") != "worksteal":
        return
    workers = int(workerinput["workercount"])
    slow = [item for item in items if expected_seconds(item)]
    if workers < 2 or not slow:
        return
    # A module's shorter slow tests stay together, so that a server its module shares (a
    # module-scoped fixture) starts once in the run, not once per worker.
    groups: dict[str, list[pytest.Item]] = {}
    for item in slow:
        key = item.nodeid if expected_seconds(item) >= SPLIT_SECONDS else item.nodeid.split("::")[0]
        groups.setdefault(key, []).append(item)
    firsts: list[list[pytest.Item]] = [[] for _ in range(workers)]
    loads = [0.0] * workers
    # The live tests mostly wait on real time: given to the workers beyond one per core (when
    # there are such), they leave one worker per core to keep the cores busy meanwhile.
    waiting = range(workers - cores()) if workers > cores() else range(workers)
    for group in sorted(groups.values(), key=lambda g: sum(map(expected_seconds, g)), reverse=True):
        live = any(item.get_closest_marker("live") for item in group)
        worker = min(waiting if live else range(workers), key=loads.__getitem__)
        firsts[worker] += group
        loads[worker] += sum(map(expected_seconds, group))
    first = set(slow)
    rest = iter([item for item in items if item not in first])
    ordered: list[pytest.Item] = []
    remaining = len(items)
    for worker in range(workers):
        share = remaining // (workers - worker)  # as the scheduler divides the collection
        remaining -= share
        ordered += firsts[worker]
        ordered += itertools.islice(rest, max(0, share - len(firsts[worker])))
    ordered += rest
    items[:] = ordered


def pytest_configure(config: pytest.Config) -> None:
    # asyncpg cannot be imported twice in one process: imported again after its modules left
    # sys.modules, it segfaults on first use (an xdist worker "crashed"). pytester's in-process
    # runs remove the modules they imported when they end, so a run whose app merely imported
    # asyncpg would arm that crash for the worker's next PostgreSQL test. Imported here, first,
    # it is never theirs to remove.
    if importlib.util.find_spec("asyncpg") is not None:
        import asyncpg  # noqa: F401
    # A test process allocates millions of short-lived objects (apps, requests, events): the
    # default first-generation threshold (700) made the collector run thousands of times per
    # worker, 16 s of the run's CPU in all; at 10,000 it costs half as much.
    gc.set_threshold(10_000, 20, 20)
    # Each process of the run (the controller, every xdist worker) ends with the whole stack
    # in its heap: frozen at exit, it is skipped by the interpreter's final collections (about
    # 0.85 s of CPU per process on a 2-core runner). Exit handlers still run.
    atexit.register(gc.freeze)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def pytester(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    """pytester, with no ``main`` module of another test in ``sys.modules`` while it runs.

    A test of an app built at import imports its ``main`` as users' tests do
    (``docs/examples/app_at_import``), and the module stays for the rest of the worker: an
    in-process run of a test app of that name would import that one instead of its own, and
    fail or pass depending on the order the tests ran in. Put back afterwards."""
    monkeypatch.delitem(sys.modules, "main", raising=False)
    return pytester


@pytest.fixture(scope="session")
def clock_cache() -> ClockCache:
    """One cache for the clocks the plugin's unit tests start themselves, where the subject is
    not the cache: a user's session keeps one for its tests' clocks too. (The first clock of a
    session, with an empty cache, is what tests/plugin/test_clock_cache.py and
    test_clock_replay.py test.)"""
    return ClockCache()


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[PostgresAdmin]:
    """The PostgreSQL server of this test session."""
    provided = os.environ.get("DATABASE_URL")
    if is_postgres_url(provided):
        assert provided is not None
        yield PostgresAdmin(provided)
        return
    if importlib.util.find_spec("pgserver") is None:
        pytest.skip("PostgreSQL tests need the `test` extra (pgserver) or DATABASE_URL")
    server = LocalPostgres()
    try:
        server.start()
        yield PostgresAdmin(server.url)
    finally:
        server.destroy()


@pytest.fixture
def postgres_url(postgres_admin: PostgresAdmin) -> Iterator[str]:
    """A new, empty PostgreSQL database for this test (dropped afterwards)."""
    url = postgres_admin.create_database()
    try:
        yield url
    finally:
        postgres_admin.drop_database(url)


@pytest.fixture(scope="session")
def postgres_session_url(postgres_admin: PostgresAdmin) -> Iterator[str]:
    """One PostgreSQL database for this session (per xdist worker): for apps shared between
    tests, whose reset empties it."""
    url = postgres_admin.create_database("session")
    try:
        yield url
    finally:
        postgres_admin.drop_database(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The test's own database: a SQLite file, then a PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'calls.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
