"""Drivers that connect in C (libpq: psycopg2, psycopg) resolve and connect outside Python's
``socket`` module: a test's or a production check's database connection reached the host it
named, and nothing reported it. Their ``connect`` now reads the hosts first."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_hardening import NetworkGuard
from pytest_hardening._network_drivers import libpq_hosts

FAKE_DRIVER = """
CONNECTED = []


class OperationalError(Exception):
    pass


def connect(dsn=None, connection_factory=None, **kwargs):
    CONNECTED.append((dsn, kwargs))  # where libpq would connect, in C
    return "connection"
"""


@pytest.fixture
def fake_psycopg2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A stand-in for psycopg2, found by import (the real one connects in C, as this one
    pretends to)."""
    if "psycopg2" in sys.modules or any((Path(p) / "psycopg2").exists() for p in sys.path if p):
        pytest.skip("the real psycopg2 is installed")
    (tmp_path / "psycopg2.py").write_text(FAKE_DRIVER)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield
    finally:
        sys.modules.pop("psycopg2", None)


@pytest.mark.parametrize(
    ("dsn", "keywords", "hosts"),
    [
        ("postgresql://app:pw@db.internal:6432/app", {}, [("db.internal", 6432)]),
        ("postgresql://app@db1,db2:5433/app", {}, [("db1", 5432), ("db2", 5433)]),
        ("postgresql://app@[2001:db8::1]:5432/app", {}, [("2001:db8::1", 5432)]),
        ("postgresql:///app?host=/var/run/postgresql", {}, []),
        ("host=db.internal port=6432 dbname=app", {}, [("db.internal", 6432)]),
        ("dbname=app", {"host": "127.0.0.1"}, [("127.0.0.1", 5432)]),
        ("host=db.internal hostaddr=10.0.0.5", {}, [("10.0.0.5", 5432)]),
        ("dbname=app", {}, []),  # a Unix socket
    ],
)
def test_the_hosts_libpq_connects_to(
    dsn: str,
    keywords: dict[str, str],
    hosts: list[tuple[str, int]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("PGHOST", "PGHOSTADDR", "PGPORT"):
        monkeypatch.delenv(name, raising=False)
    assert list(libpq_hosts(dsn, keywords)) == hosts


def test_a_driver_imported_under_the_guard_is_refused_a_host_off_the_machine(
    fake_psycopg2: None,
) -> None:
    with NetworkGuard() as guard:
        import psycopg2  # type: ignore[import-not-found]

        with pytest.raises(psycopg2.OperationalError, match=r"db\.internal:5432"):
            psycopg2.connect("postgresql://app:pw@db.internal/app")
        assert psycopg2.connect("dbname=app host=localhost") == "connection"
        assert psycopg2.connect(dbname="app") == "connection"  # a Unix socket
    assert [dsn for dsn, _ in psycopg2.CONNECTED] == ["dbname=app host=localhost", None]
    assert any("db.internal:5432" in line for line in guard.refused())
    assert psycopg2.connect("host=db.internal") == "connection"  # the guard is gone


def test_a_driver_imported_before_the_guard_is_reached_too(fake_psycopg2: None) -> None:
    import psycopg2

    with NetworkGuard(), pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(host="db.internal", dbname="app")
    assert psycopg2.CONNECTED == []


FAKE_PSYCOPG = """
CONNECTED = []


class OperationalError(Exception):
    pass


class AsyncConnection:
    @classmethod
    async def connect(cls, conninfo="", **kwargs):
        CONNECTED.append(conninfo)  # libpq, in C
        return cls()


def connect(conninfo="", **kwargs):
    CONNECTED.append(conninfo)
    return "connection"
"""


def test_psycopgs_async_connect_is_reached_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # SQLAlchemy's postgresql+psycopg_async dialect calls AsyncConnection.connect.
    if "psycopg" in sys.modules or any((Path(p) / "psycopg").exists() for p in sys.path if p):
        pytest.skip("the real psycopg is installed")
    (tmp_path / "psycopg.py").write_text(FAKE_PSYCOPG)
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import psycopg  # type: ignore[import-not-found]

        async def connect(conninfo: str) -> object:
            return await psycopg.AsyncConnection.connect(conninfo)

        with NetworkGuard():
            with pytest.raises(psycopg.OperationalError, match=r"db\.internal:5432"):
                asyncio.run(connect("host=db.internal dbname=app"))
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect("postgresql://db.internal/app")
            asyncio.run(connect("host=127.0.0.1 dbname=app"))
        assert psycopg.CONNECTED == ["host=127.0.0.1 dbname=app"]
        asyncio.run(connect("host=db.internal"))  # the guard is gone
    finally:
        sys.modules.pop("psycopg", None)
