"""Database drivers that connect in C, outside Python's ``socket`` module.

libpq (psycopg2, psycopg) resolves the server's name and opens its connection itself: the
guard's patches of ``socket`` never see them, and a test's or a production check's database
connection reached the host it names. While a :class:`~._network.NetworkGuard` runs, the
drivers' module-level ``connect`` (``psycopg2.connect``, ``psycopg.connect``: what SQLAlchemy's
dialects call) and psycopg's ``AsyncConnection.connect`` first read the hosts they were asked
for, as libpq reads them (a URI or ``key=value`` connection string, keyword arguments over it,
``PGHOST``/``PGHOSTADDR``, a Unix socket when none), and refuse one off this machine with the
driver's own ``OperationalError``, as a refused connection is reported; the guard records it
like any other.
A driver imported while the guard runs is reached at its import; a ``connect`` bound before
the guard started (``from psycopg2 import connect``) is not.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ._import_watch import PatchedWhenLoaded

__all__ = ["DriverGuard", "libpq_hosts"]

#: Check ``host`` (and ``port``): raises the guard's error for one off this machine.
Refuse = Callable[[str, "int | None"], None]

_KEYWORD = re.compile(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)")


def libpq_hosts(dsn: Any, keywords: dict[str, Any]) -> Iterator[tuple[str, int | None]]:
    """The network hosts (and ports) a libpq connection with ``dsn`` and ``keywords`` tries:
    none for a Unix socket (no host, or a path)."""
    params: dict[str, str] = {}
    text = dsn.decode() if isinstance(dsn, bytes) else dsn
    if isinstance(text, str) and text.startswith(("postgresql://", "postgres://")):
        parts = urlsplit(text)
        netloc = parts.netloc.rpartition("@")[2]
        hosts, ports = [], []
        for item in netloc.split(","):
            host, port = _host_port(item)
            hosts.append(unquote(host))
            ports.append(port)
        params["host"] = ",".join(hosts)
        params["port"] = ",".join(ports)
        params.update(parse_qsl(parts.query))
    elif isinstance(text, str):
        for key, value in _KEYWORD.findall(text):
            params[key] = value.strip("'").replace("\\'", "'")
    params.update({k: str(v) for k, v in keywords.items() if v is not None})
    address = params.get("hostaddr") or os.environ.get("PGHOSTADDR", "")
    host = address or params.get("host") or os.environ.get("PGHOST", "")
    port_list = (params.get("port") or os.environ.get("PGPORT", "")).split(",")
    for index, name in enumerate(host.split(",") if host else []):
        name = name.strip()
        if not name or name.startswith(("/", "@")):  # a Unix socket's directory
            continue
        port = port_list[index] if index < len(port_list) else port_list[-1]
        yield name, int(port) if port.strip().isdigit() else 5432


def _host_port(item: str) -> tuple[str, str]:
    if item.startswith("["):  # [IPv6]:port
        host, _, rest = item[1:].partition("]")
        return host, rest.lstrip(":")
    host, _, port = item.partition(":")
    return host, port


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

    def _checked(self, module: ModuleType) -> Callable[[Any, dict[str, Any]], None]:
        error = getattr(module, "OperationalError", None)

        def check(dsn: Any, keywords: dict[str, Any]) -> None:
            for host, port in libpq_hosts(dsn, keywords):
                try:
                    self._refuse(host, port)
                except ConnectionRefusedError as refused:
                    if isinstance(error, type) and issubclass(error, Exception):
                        raise error(str(refused)) from refused
                    raise

        return check


def _module_connect(module: ModuleType, check: Callable[[Any, dict[str, Any]], None]) -> Any:
    """Wrap the driver's module-level ``connect`` (what SQLAlchemy's dialects and most code
    call): its connection string and keywords are checked first."""
    connect = getattr(module, "connect", None)
    if not callable(connect):
        return None

    def guarded(dsn: Any = None, *args: Any, **kwargs: Any) -> Any:
        check(dsn, {k: v for k, v in kwargs.items() if k not in _NOT_CONNINFO})
        return connect(dsn, *args, **kwargs)

    module.connect = guarded  # type: ignore[attr-defined]
    return lambda: setattr(module, "connect", connect)


def _psycopg(module: ModuleType, check: Callable[[Any, dict[str, Any]], None]) -> Any:
    """psycopg's module-level ``connect``, and ``AsyncConnection.connect`` (what SQLAlchemy's
    ``postgresql+psycopg_async`` dialect calls), checked first."""
    undo = [_module_connect(module, check)]
    cls = getattr(module, "AsyncConnection", None)
    own = vars(cls).get("connect") if isinstance(cls, type) else None
    if isinstance(own, classmethod):
        real = own.__func__

        async def guarded(klass: Any, conninfo: Any = "", *args: Any, **kwargs: Any) -> Any:
            check(conninfo, {k: v for k, v in kwargs.items() if k not in _NOT_CONNINFO})
            return await real(klass, conninfo, *args, **kwargs)

        cls.connect = classmethod(guarded)  # type: ignore[union-attr]
        undo.append(lambda: setattr(cls, "connect", own))
    done = [u for u in undo if u is not None]

    def restore() -> None:
        for each in reversed(done):
            each()

    return restore


#: Arguments of the drivers' ``connect`` that are not connection parameters.
_NOT_CONNINFO = frozenset(
    {"connection_factory", "cursor_factory", "async_", "autocommit", "prepare_threshold",
     "context", "row_factory"}
)  # fmt: skip

_PATCHES: dict[str, Callable[[ModuleType, Callable[[Any, dict[str, Any]], None]], Any]] = {
    "psycopg2": _module_connect,
    "psycopg": _psycopg,
}
