"""Drivers that connect in C (libpq: psycopg2, psycopg; libmysqlclient: mysqlclient; FreeTDS:
pymssql) resolve and connect outside Python's ``socket`` module: a test's or a production
check's database connection reached the host it named, and nothing reported it. Their
``connect`` now reads the hosts first."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy

from pytest_hardening import NetworkGuard
from pytest_hardening._driver_hosts import libpq_hosts, mysql_hosts, odbc_hosts, tds_hosts

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


def _conninfo(conninfo, kwargs):
    if not isinstance(conninfo, str):  # as psycopg's make_conninfo: None is no string
        raise AttributeError("'NoneType' object has no attribute 'encode'")
    return " ".join([conninfo, *(f"{k}={v}" for k, v in kwargs.items())]).strip()


class AsyncConnection:
    @classmethod
    async def connect(cls, conninfo="", **kwargs):
        CONNECTED.append(_conninfo(conninfo, kwargs))  # libpq, in C
        return cls()


def connect(conninfo="", **kwargs):
    CONNECTED.append(_conninfo(conninfo, kwargs))
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

        async def connect(conninfo: str = "", **keywords: str) -> object:
            return await psycopg.AsyncConnection.connect(conninfo, **keywords)

        with NetworkGuard():
            with pytest.raises(psycopg.OperationalError, match=r"db\.internal:5432"):
                asyncio.run(connect("host=db.internal dbname=app"))
            with pytest.raises(psycopg.OperationalError):
                psycopg.connect("postgresql://db.internal/app")
            with pytest.raises(psycopg.OperationalError, match=r"db\.internal:6432"):
                psycopg.connect(host="db.internal", port=6432, dbname="app")
            asyncio.run(connect("host=127.0.0.1 dbname=app"))
            # Keywords only, as SQLAlchemy's psycopg dialects call: passed on as they came.
            psycopg.connect(host="127.0.0.1", dbname="app", user="app")
            asyncio.run(psycopg.AsyncConnection.connect(host="localhost", dbname="app"))
            psycopg.connect(conninfo="host=127.0.0.1", dbname="app")
        assert psycopg.CONNECTED == [
            "host=127.0.0.1 dbname=app",
            "host=127.0.0.1 dbname=app user=app",
            "host=localhost dbname=app",
            "host=127.0.0.1 dbname=app",
        ]
        asyncio.run(connect("host=db.internal"))  # the guard is gone
    finally:
        sys.modules.pop("psycopg", None)


@pytest.mark.parametrize(
    ("args", "keywords", "hosts"),
    [
        ((), {"host": "db.internal", "port": 3307}, [("db.internal", 3307)]),
        (("db.internal", "app", "pw", "app"), {}, [("db.internal", 3306)]),
        (("db.internal", "app", "pw", "app", 3308), {}, [("db.internal", 3308)]),
        ((), {"host": b"db.internal"}, [("db.internal", 3306)]),
        ((), {"host": "localhost", "unix_socket": "/run/mysqld/mysqld.sock"}, []),
        ((), {"user": "app"}, []),  # no host: the local server's socket
    ],
)
def test_the_hosts_libmysqlclient_connects_to(
    args: tuple[object, ...], keywords: dict[str, object], hosts: list[tuple[str, int]]
) -> None:
    assert list(mysql_hosts(args, keywords)) == hosts


def test_libmysqlclient_reads_the_host_of_an_option_file(tmp_path: Path) -> None:
    # Django's documented `OPTIONS: {"read_default_file": ...}`: [client], then the group.
    options = tmp_path / "my.cnf"
    options.write_text(
        "[client]\nhost = db.internal\nport = 3310\n[app]\nhost = replica.internal\n"
    )
    assert list(mysql_hosts((), {"read_default_file": str(options)})) == [("db.internal", 3310)]
    group = {"read_default_file": str(options), "read_default_group": "app"}
    assert list(mysql_hosts((), group)) == [("replica.internal", 3310)]
    assert list(mysql_hosts((), {**group, "host": "localhost"})) == []  # given: it wins


@pytest.mark.parametrize(
    ("args", "keywords", "hosts"),
    [
        (("mssql.internal",), {}, [("mssql.internal", 1433)]),
        ((), {"server": "mssql.internal:1500"}, [("mssql.internal", 1500)]),
        ((), {"server": "mssql.internal,1501"}, [("mssql.internal", 1501)]),
        ((), {"server": "mssql.internal\\REPORTS"}, [("mssql.internal", 1433)]),
        (
            (),
            {"server": "ignored", "host": "mssql.internal", "port": "1502"},
            [("mssql.internal", 1502)],
        ),
        ((".",), {}, []),  # the local server
        ((), {}, []),
    ],
)
def test_the_hosts_freetds_connects_to(
    args: tuple[object, ...], keywords: dict[str, object], hosts: list[tuple[str, int]]
) -> None:
    assert list(tds_hosts(args, keywords)) == hosts


@pytest.mark.parametrize(
    ("args", "keywords", "hosts"),
    [
        (("DRIVER={SQL Server};SERVER=tcp:sql.internal,1500;UID=u",), {}, [("sql.internal", 1500)]),
        (("Server=db.internal\\ORDERS;Port=1444;PWD={a;b}}c}",), {}, [("db.internal", 1444)]),
        (("Driver={MySQL ODBC 8.0};Servername=10.0.0.5",), {}, [("10.0.0.5", 1433)]),
        (("Driver={x};Server=.\\SQLEXPRESS",), {}, []),
        (("Driver={x};Server=(local)",), {}, []),
        (("Server=np:\\\\.\\pipe\\sql\\query",), {}, []),
        (("DSN=warehouse;UID=u",), {}, []),  # a data source set up in odbc.ini: unknown here
        ((), {"driver": "x", "server": "db.example.com"}, [("db.example.com", 1433)]),
    ],
)  # fmt: skip
def test_the_hosts_an_odbc_driver_connects_to(
    args: tuple[object, ...], keywords: dict[str, object], hosts: list[tuple[str, int]]
) -> None:
    assert list(odbc_hosts(args, keywords)) == hosts


FAKE_MYSQLDB = """
__version__ = "2.2.7"
version_info = (2, 2, 7, "final", 0)
paramstyle = "format"
CONNECTED = []


class Error(Exception):
    pass


class OperationalError(Error):
    pass


def Connect(*args, **kwargs):
    CONNECTED.append(kwargs.get("host"))  # where libmysqlclient would connect, in C
    return "connection"


connect = Connection = Connect
"""

FAKE_PYMSSQL = """
CONNECTED = []


class OperationalError(Exception):
    pass


def connect(server=".", user=None, password=None, database="", **kwargs):
    CONNECTED.append(kwargs.get("host") or server)  # where FreeTDS would connect, in C
    return "connection"
"""


@pytest.fixture
def stand_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str, str], None]]:
    """Stand-ins for C drivers, found by import (the real ones connect in C, as these
    pretend to)."""
    made: list[str] = []

    def make(name: str, text: str) -> None:
        if name in sys.modules or any((Path(p) / name).exists() for p in sys.path if p):
            pytest.skip(f"the real {name} is installed")
        (tmp_path / f"{name}.py").write_text(text)
        made.append(name)

    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        yield make
    finally:
        for name in made:
            sys.modules.pop(name, None)


def test_mysqlclient_is_refused_a_host_off_the_machine_under_every_name(
    stand_in: Callable[[str, str], None],
) -> None:
    stand_in("MySQLdb", FAKE_MYSQLDB)
    import MySQLdb  # type: ignore[import-not-found]

    with NetworkGuard() as guard:
        for connect in (MySQLdb.connect, MySQLdb.Connect, MySQLdb.Connection):
            with pytest.raises(MySQLdb.OperationalError, match=r"db\.internal:3306"):
                connect(host="db.internal", user="app")
        assert MySQLdb.connect(host="localhost") == "connection"
        assert MySQLdb.connect(host="127.0.0.1", port=3306) == "connection"
    assert MySQLdb.CONNECTED == ["localhost", "127.0.0.1"]
    assert [(b.host, b.port) for b in guard.blocked] == [("db.internal", 3306)] * 3
    assert guard.refused() == ["  db.internal:3306, from MySQLdb"]
    assert MySQLdb.connect is MySQLdb.Connect is MySQLdb.Connection  # undone
    assert MySQLdb.connect(host="db.internal") == "connection"  # the guard is gone


def test_pymssql_is_refused_a_host_off_the_machine(stand_in: Callable[[str, str], None]) -> None:
    stand_in("pymssql", FAKE_PYMSSQL)
    with NetworkGuard() as guard:
        import pymssql  # type: ignore[import-not-found]

        with pytest.raises(pymssql.OperationalError, match=r"mssql\.internal:1500"):
            pymssql.connect("mssql.internal:1500", "app", "pw", "orders")
        assert pymssql.connect(".", "app") == "connection"
    assert pymssql.CONNECTED == ["."]
    assert guard.refused() == ["  mssql.internal:1500, from pymssql"]


FAKE_PYODBC = """
CONNECTED = []


class OperationalError(Exception):
    pass


def connect(connstring="", **kwargs):
    CONNECTED.append(connstring or kwargs)  # the driver manager connects in C
    return "connection"
"""


def test_pyodbc_is_refused_a_host_off_the_machine(stand_in: Callable[[str, str], None]) -> None:
    stand_in("pyodbc", FAKE_PYODBC)
    with NetworkGuard() as guard:
        import pyodbc  # type: ignore[import-not-found]

        with pytest.raises(pyodbc.OperationalError, match=r"sql\.internal:1433"):
            pyodbc.connect("DRIVER={ODBC Driver 18 for SQL Server};SERVER=sql.internal;UID=u")
        assert pyodbc.connect("DRIVER={x};SERVER=localhost,1433") == "connection"
    assert pyodbc.CONNECTED == ["DRIVER={x};SERVER=localhost,1433"]
    assert guard.refused() == ["  sql.internal:1433, from pyodbc"]


def test_a_driver_an_orm_opened_is_the_apps_own_to_point_at_127_0_0_1(
    stand_in: Callable[[str, str], None],
) -> None:
    # SQLAlchemy's default dialect for mysql:// URLs is mysqlclient's: the advice is the
    # database's, not "stand in for what the app calls of sqlalchemy".
    stand_in("MySQLdb", FAKE_MYSQLDB)
    dialect = sqlalchemy.create_engine("mysql://app:pw@db.internal/orders").dialect
    import MySQLdb

    with NetworkGuard() as guard, pytest.raises(MySQLdb.OperationalError):
        dialect.connect(host="db.internal", user="app")  # what the engine's pool calls
    [line] = guard.refused()
    assert line.startswith("  db.internal:3306, from MySQLdb (called by sqlalchemy")
    advice = guard.report().splitlines()[-1]
    assert advice.startswith("mock MySQLdb in the test (a database of the test's own on 127.0.0.1)")
    assert "stand in for that call" not in advice
