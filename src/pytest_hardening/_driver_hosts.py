"""Where a database driver that connects in C will connect, read from its ``connect``
arguments as the driver's C library reads them: libpq (psycopg2, psycopg), libmysqlclient
(mysqlclient's ``MySQLdb``), FreeTDS (pymssql) and an ODBC driver manager (pyodbc). A Unix
socket, a named pipe or the local server's default yields no host; the guard decides which of
the others are off this machine.
"""

from __future__ import annotations

import configparser
import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["libpq_hosts", "mysql_hosts", "odbc_hosts", "tds_hosts"]

Hosts = Iterator[tuple[str, "int | None"]]

_KEYWORD = re.compile(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)")


def libpq_hosts(dsn: Any, keywords: dict[str, Any]) -> Hosts:
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


#: ``MySQLdb.connect``'s positional parameters, in order (keywords are recommended).
_MYSQL_POSITIONAL = ("host", "user", "passwd", "db", "port", "unix_socket")


def mysql_hosts(args: tuple[Any, ...], keywords: dict[str, Any]) -> Hosts:
    """The host libmysqlclient connects to: ``host`` (and ``port``, 3306 by default), else
    the ``host`` of the option file named by ``read_default_file`` (its ``[client]`` group and
    ``read_default_group``'s); none for ``localhost`` or no host (the local server's socket)."""
    params = {**dict(zip(_MYSQL_POSITIONAL, args, strict=False)), **keywords}
    host, port = params.get("host"), params.get("port")
    if not host and params.get("read_default_file"):
        found = _option_file(str(params["read_default_file"]), params.get("read_default_group"))
        host, port = found.get("host"), port or found.get("port")
    if isinstance(host, bytes):
        host = host.decode()
    if host and host != "localhost":
        yield str(host), _port(port, 3306)


def _port(value: Any, default: int) -> int:
    text = str(value or "").strip()
    return int(text) if text.isdigit() else default


def _option_file(path: str, group: Any) -> dict[str, str]:
    """``host`` and ``port`` of a MySQL option file's ``[client]`` group, then ``group``'s."""
    parser = configparser.ConfigParser(allow_no_value=True, strict=False, interpolation=None)
    try:
        parser.read(os.path.expanduser(path))
    except configparser.Error:
        return {}
    found: dict[str, str] = {}
    for section in ("client", str(group or "client")):
        if parser.has_section(section):
            found.update(
                {k: str(v) for k, v in parser.items(section) if k in ("host", "port") and v}
            )
    return found


#: FreeTDS's names for the local server.
_TDS_LOCAL = frozenset({".", "(local)", "localhost"})


def tds_hosts(args: tuple[Any, ...], keywords: dict[str, Any]) -> Hosts:
    """The host FreeTDS connects to for ``pymssql.connect``: the ``host`` keyword, which takes
    over ``server`` (the first argument; ``.``, the local server, by default), written ``host``,
    ``host:port``, ``host,port`` or ``host\\instance``; ``port`` (1433 by default) unless the
    name carries one."""
    name = keywords.get("host") or keywords.get("server") or (args[0] if args else "")
    name = name.decode() if isinstance(name, bytes) else str(name or "")
    name = name.partition("\\")[0].strip()
    port: Any = keywords.get("port")
    for separator in (",", ":"):
        if separator in name and name.count(":") <= 1:
            name, _, port = name.partition(separator)
            break
    if name and name.lower() not in _TDS_LOCAL:
        yield name.strip("[]"), _port(port, 1433)


#: ODBC connection string attributes naming the server, as the common drivers spell them
#: (SQL Server's ``Server``/``Address``, MySQL's ``Server``, psqlODBC's ``Servername``).
_ODBC_SERVER = ("server", "address", "addr", "servername", "host", "hostname")
_ODBC_ATTRIBUTE = re.compile(r"\s*([^=;]+?)\s*=\s*(\{(?:[^}]|\}\})*\}|[^;]*)\s*(?:;|$)")


def odbc_hosts(args: tuple[Any, ...], keywords: dict[str, Any]) -> Hosts:
    """The host an ODBC driver connects to for ``pyodbc.connect``: the connection string's
    ``Server`` (``tcp:host,port``, ``host\\instance``), or the keyword pyodbc writes into it;
    none for a data source name alone (``DSN=``, set up in odbc.ini) or a local server
    (``.``, ``(local)``, a named pipe or shared memory)."""
    text = args[0] if args and isinstance(args[0], str) else ""
    attributes = {
        key.lower(): value[1:-1].replace("}}", "}") if value.startswith("{") else value
        for key, value in _ODBC_ATTRIBUTE.findall(text)
    }
    attributes.update({str(k).lower(): str(v) for k, v in keywords.items()})
    name = next((attributes[key] for key in _ODBC_SERVER if attributes.get(key)), "").strip()
    scheme, colon, rest = name.partition(":")
    if colon and scheme.lower() in ("tcp", "np", "lpc", "admin"):
        if scheme.lower() in ("np", "lpc"):  # a named pipe, shared memory: this machine
            return
        name = rest
    name, _, port = name.partition(",")
    name = name.partition("\\")[0].strip()
    if name and name.lower() not in _TDS_LOCAL:
        yield name.strip("[]"), _port(port or attributes.get("port"), 1433)
