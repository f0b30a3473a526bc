"""A real PostgreSQL for the test suite: the server the ``pgserver`` wheel ships, on 127.0.0.1.

:class:`LocalPostgres` runs ``initdb`` and ``pg_ctl`` from the wheel in a temporary directory,
listening on a free loopback port (and a Unix socket in that directory). PostgreSQL refuses to
run as root, so under root it runs as ``nobody`` (the data directory is made that user's; when
the installed binaries are not reachable by it, e.g. a venv below ``/root``, they are copied into
the temporary directory first). :class:`PostgresAdmin` creates and drops one database per test on
any server, this one or one named by ``DATABASE_URL``.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy.engine import make_url

__all__ = ["LocalPostgres", "PostgresAdmin", "is_postgres_url", "to_asyncpg_url"]

T = TypeVar("T")
#: The OS user the server runs as when the tests run as root.
RUN_AS = "nobody"
#: Seconds pg_ctl waits for the server to start or stop (a loaded 2-core machine is slow).
PG_CTL_WAIT = 60


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and make_url(str(url)).drivername.split("+")[0] in {"postgres", "postgresql"}


def to_asyncpg_url(url: str, database: str | None = None) -> str:
    parsed = make_url(url.replace("postgres://", "postgresql://", 1)).set(
        drivername="postgresql+asyncpg"
    )
    if database is not None:
        parsed = parsed.set(database=database)
    return parsed.render_as_string(hide_password=False)


def _run_sync(coro: Coroutine[Any, Any, T]) -> T:
    # Fixtures may run while a test's loop is running in this thread: use a thread of our own.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class LocalPostgres:
    """One PostgreSQL server in its own temporary directory; :meth:`stop`/:meth:`start` may be
    called any number of times (the live outage test does), :meth:`destroy` removes it all."""

    def __init__(self) -> None:
        # The wheel with the server binaries (the `test` extra). Located, not imported: importing
        # it sets up lock files and a runtime directory of its own that is not needed here.
        spec = importlib.util.find_spec("pgserver")
        if spec is None or spec.origin is None:
            raise RuntimeError("pgserver is not installed (the `test` extra)")
        self._bin = Path(spec.origin).parent / "pginstall" / "bin"
        self.root = Path(tempfile.mkdtemp(prefix="hardening-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = _free_port()
        self._started = False
        self._user = RUN_AS if os.geteuid() == 0 else None
        if self._user is not None:
            shutil.chown(self.root, self._user)
            if not self._runnable():
                install = self.root / "pginstall"
                shutil.copytree(self._bin.parent, install, symlinks=True)
                shutil.chown(install, self._user)
                self._bin = install / "bin"
        self._pg("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "utf8")

    @property
    def url(self) -> str:
        """The server's URL (database ``postgres``, user ``postgres``, no password)."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        """Start the server. The first start moves to a new port when the picked one was taken
        in the meantime (initdb takes seconds; another worker's server may bind it); a restart
        keeps its port, which the apps' URLs name."""
        for attempt in range(3):
            try:
                self._start()
            except RuntimeError as exc:
                if self._started or attempt == 2 or "already in use" not in str(exc).lower():
                    raise
                self.port = _free_port()
            else:
                self._started = True
                return

    def _start(self) -> None:
        # fsync off: the suite's databases are throw-away; durability costs seconds per test run.
        options = f"-h 127.0.0.1 -p {self.port} -k {self.root} -c fsync=off -c max_connections=200"
        self._pg("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w",
                 "-t", str(PG_CTL_WAIT), "start")  # fmt: skip

    def stop(self) -> None:
        """Stop now: open connections are cut (``-m immediate``, as a crash or kill would)."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "-t", str(PG_CTL_WAIT),
                 "stop")  # fmt: skip

    def running(self) -> bool:
        status = subprocess.run(  # noqa: S603 (the wheel's own binaries)
            [str(self._bin / "pg_ctl"), "-D", str(self.data), "status"],
            capture_output=True,
            user=self._user,
            check=False,
        )
        return status.returncode == 0

    def destroy(self) -> None:
        if self.data.exists() and self.running():
            self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _runnable(self) -> bool:
        try:
            probe = subprocess.run(  # noqa: S603 (the wheel's own binaries)
                [str(self._bin / "postgres"), "--version"], capture_output=True, user=self._user
            )
        except PermissionError:
            return False
        return probe.returncode == 0

    def _pg(self, program: str, *args: str) -> None:
        result = subprocess.run(  # noqa: S603 (the wheel's own binaries)
            [str(self._bin / program), *args],
            capture_output=True,
            text=True,
            user=self._user,
            cwd=self.root,
            check=False,
        )
        if result.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{program} failed ({result.returncode}): {result.stderr.strip()}\n{log}"
            )


class PostgresAdmin:
    """Creates and drops databases on the server at ``url`` (any PostgreSQL URL)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its asyncpg URL for ``DATABASE_URL``."""
        name = f"{prefix}_{uuid.uuid4().hex[:16]}"
        _run_sync(self._create(name))
        return to_asyncpg_url(self.url, name)

    async def _create(self, name: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(_plain(self.url))
        try:
            # From PostgreSQL 15 a new database is written page by page to the WAL; copying the
            # template's files instead costs the server a quarter less CPU per test database
            # (and its drop half), with fsync off as the suite's own server runs.
            new = connection.get_server_version().major >= 15
            await connection.execute(f'CREATE DATABASE "{name}"' + (" STRATEGY FILE_COPY" * new))
        finally:
            await connection.close()

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        _run_sync(self._execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def fetch(self, url: str, query: str) -> list[tuple[Any, ...]]:
        """Rows of ``query`` on the database at ``url`` (a fresh connection)."""

        async def fetch() -> list[tuple[Any, ...]]:
            import asyncpg

            connection = await asyncpg.connect(_plain(url))
            try:
                return [tuple(row) for row in await connection.fetch(query)]
            finally:
                await connection.close()

        return _run_sync(fetch())

    async def _execute(self, statement: str) -> None:
        import asyncpg

        connection = await asyncpg.connect(_plain(self.url))
        try:
            await connection.execute(statement)
        finally:
            await connection.close()


def _plain(url: str) -> str:
    """``url`` as libpq spells it (asyncpg takes no SQLAlchemy driver suffix)."""
    return (
        make_url(to_asyncpg_url(url))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )
