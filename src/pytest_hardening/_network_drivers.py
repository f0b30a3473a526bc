"""Database drivers that connect in C, outside Python's ``socket`` module.

libpq (psycopg2, psycopg), libmysqlclient (mysqlclient's ``MySQLdb``), FreeTDS (pymssql) and
the ODBC drivers pyodbc loads resolve the server's name and open their connection themselves:
the guard's patches of ``socket`` never see them, and a test's or a production check's
database connection reached the host it names. While a :class:`~._network.NetworkGuard` runs,
the drivers' module-level ``connect`` (``psycopg2.connect``, ``psycopg.connect``,
``MySQLdb.connect``, ``pymssql.connect``, ``pyodbc.connect``: what SQLAlchemy's dialects and
Django's backends call) and psycopg's ``AsyncConnection.connect`` first read the hosts they
were asked for, as the C library reads them (:mod:`._driver_hosts`), and refuse one off this
machine with the driver's own ``OperationalError``, as a refused connection is reported; the
guard records it like any other. A driver imported while the guard runs is reached at its
import; a ``connect`` bound before the guard started (``from psycopg2 import connect``) is
not. A data source named in odbc.ini alone (``DSN=``) names no host here: it is not checked.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import ModuleType
from typing import Any

from ._driver_hosts import libpq_hosts, mysql_hosts, odbc_hosts, tds_hosts
from ._import_watch import PatchedWhenLoaded

__all__ = ["DriverGuard"]

#: Check ``host`` (and ``port``) that the driver named would reach: raises the guard's error
#: for one off this machine.
Refuse = Callable[[str, "int | None", str], None]
#: Check the hosts a ``connect`` would reach: raises the driver's error for one off the machine.
Check = Callable[[Iterable[tuple[str, "int | None"]]], None]


class DriverGuard:
    """While started, the C drivers' ``connect`` refuses hosts off this machine (``refuse``
    decides and raises; see the module)."""

    def __init__(self, refuse: Refuse) -> None:
        self._refuse = refuse
        self._patches = PatchedWhenLoaded(_PATCHES, self._patch)

    def start(self) -> DriverGuard:
        self._patches.start()
        return self

    def stop(self) -> None:
        self._patches.stop()

    def _patch(self, module: ModuleType) -> Callable[[], None] | None:
        undo: Callable[[], None] | None = _PATCHES[module.__name__](module, self._checked(module))
        return undo

    def _checked(self, module: ModuleType) -> Check:
        error = getattr(module, "OperationalError", None)

        def check(hosts: Iterable[tuple[str, int | None]]) -> None:
            for host, port in hosts:
                try:
                    self._refuse(host, port, module.__name__)
                except ConnectionRefusedError as refused:
                    if isinstance(error, type) and issubclass(error, Exception):
                        raise error(str(refused)) from refused
                    raise

        return check


def _module_connect(module: ModuleType, check: Check) -> Any:
    """Wrap libpq's drivers' module-level ``connect`` (what SQLAlchemy's dialects and most
    code call): its connection string and keywords are checked first."""
    connect = getattr(module, "connect", None)
    if not callable(connect):
        return None

    def guarded(*args: Any, **kwargs: Any) -> Any:
        # Passed on as given: psycopg 3 wants a string (its default ""), psycopg2 None, and
        # SQLAlchemy's dialects give keywords only.
        check(_libpq_call_hosts(args, kwargs))
        return connect(*args, **kwargs)

    module.connect = guarded  # type: ignore[attr-defined]
    return lambda: setattr(module, "connect", connect)


def _psycopg(module: ModuleType, check: Check) -> Any:
    """psycopg's module-level ``connect``, and ``AsyncConnection.connect`` (what SQLAlchemy's
    ``postgresql+psycopg_async`` dialect calls), checked first."""
    undo = [_module_connect(module, check)]
    cls = getattr(module, "AsyncConnection", None)
    own = vars(cls).get("connect") if isinstance(cls, type) else None
    if isinstance(own, classmethod):
        real = own.__func__

        async def guarded(klass: Any, *args: Any, **kwargs: Any) -> Any:
            check(_libpq_call_hosts(args, kwargs))
            return await real(klass, *args, **kwargs)

        cls.connect = classmethod(guarded)  # type: ignore[union-attr]
        undo.append(lambda: setattr(cls, "connect", own))
    done = [u for u in undo if u is not None]

    def restore() -> None:
        for each in reversed(done):
            each()

    return restore


def _wrapped_connect(
    module: ModuleType, check: Check, hosts: Callable[[tuple[Any, ...], dict[str, Any]], Any]
) -> Any:
    """Wrap the module's ``connect`` and every other name of the same function (MySQLdb's
    ``Connect`` and ``Connection``): ``hosts(args, kwargs)`` are checked first."""
    connect = getattr(module, "connect", None)
    if not callable(connect):
        return None

    def guarded(*args: Any, **kwargs: Any) -> Any:
        check(hosts(args, kwargs))
        return connect(*args, **kwargs)

    guarded.__wrapped__ = connect  # type: ignore[attr-defined]
    guarded.__doc__ = connect.__doc__
    names = [name for name, value in vars(module).items() if value is connect]
    for name in names:
        setattr(module, name, guarded)

    def restore() -> None:
        for name in names:
            setattr(module, name, connect)

    return restore


#: Arguments of the libpq drivers' ``connect`` that are not connection parameters.
def _libpq_call_hosts(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """The hosts of a libpq driver's ``connect(conninfo_or_dsn, **keywords)`` call, however the
    connection string was passed (by position, as ``dsn=`` or ``conninfo=``, or not at all)."""
    dsn = args[0] if args else kwargs.get("dsn", kwargs.get("conninfo"))
    keywords = {k: v for k, v in kwargs.items() if k not in _NOT_CONNINFO}
    return libpq_hosts(dsn, keywords)


_NOT_CONNINFO = frozenset(
    {"dsn", "conninfo", "connection_factory", "cursor_factory", "async_", "autocommit",
     "prepare_threshold", "context", "row_factory"}
)  # fmt: skip

_PATCHES: dict[str, Callable[[ModuleType, Check], Any]] = {
    "psycopg2": _module_connect,
    "psycopg": _psycopg,
    "MySQLdb": lambda module, check: _wrapped_connect(module, check, mysql_hosts),
    "pymssql": lambda module, check: _wrapped_connect(module, check, tds_hosts),
    "pyodbc": lambda module, check: _wrapped_connect(module, check, odbc_hosts),
}
