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
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._postgres import LocalPostgres, PostgresAdmin, is_postgres_url

pytest_plugins = ["pytester", "tests._crash_report"]


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    """``-n auto`` (the README's command): one worker per core, plus one. The live tests spend
    much of their time waiting on real time (a provider's timeout, a breaker's open timeout, a
    server starting); the extra worker keeps the cores busy meanwhile.
    ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when it is set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (cores or 1) + 1


@pytest.hookimpl(trylast=True)  # after pytest-randomly's shuffle, which it keeps otherwise
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under ``--dist worksteal``, each worker starts with its share of the slow tests (``live``
    or ``slow``: seconds of other processes or servers). The scheduler hands each worker a
    contiguous share of the collection and steals from the ends of the queues; with a slow
    test left for last, the other workers sat idle while it ran (13 s of one run's 210 s)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None or config.getoption("dist", None) != "worksteal":
        return
    workers = int(workerinput["workercount"])
    slow = [
        item for item in items if item.get_closest_marker("live") or item.get_closest_marker("slow")
    ]
    if workers < 2 or not slow:
        return
    first = set(slow)
    rest = iter([item for item in items if item not in first])
    ordered: list[pytest.Item] = []
    remaining = len(items)
    for worker in range(workers):
        share = remaining // (workers - worker)  # as the scheduler divides the collection
        remaining -= share
        firsts = slow[worker::workers]
        ordered += firsts
        ordered += itertools.islice(rest, max(0, share - len(firsts)))
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
    # Each process of the run (the controller, every xdist worker) ends with the whole stack
    # in its heap: frozen at exit, it is skipped by the interpreter's final collections (about
    # 0.85 s of CPU per process on a 2-core runner). Exit handlers still run.
    atexit.register(gc.freeze)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


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
