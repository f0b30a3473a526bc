"""NetworkGuard: no way out to the network from this process, whichever client the app uses.

Like pytest-socket, it replaces ``socket.socket.connect``/``connect_ex`` (every TCP client ends
there: httpx/httpx2 via httpcore, urllib/requests, aiohttp and asyncio's ``sock_connect``), and
it also refuses to resolve non-local host names (``socket.getaddrinfo``): resolving a name is
itself a request to the network, and clients such as ``urllib`` resolve before connecting.
Blocked attempts raise :class:`NetworkBlockedError` (a ``ConnectionRefusedError``, so apps see
an ordinary connection failure) and are recorded, so a test fails at teardown even when the app
swallowed the error. Loopback (127.0.0.0/8, ::1, ``localhost``) and Unix sockets stay allowed,
except a proxy the environment names (``HTTPS_PROXY`` & co. on this machine, as corporate
networks and local debugging proxies set them): clients such as urllib, requests, boto3 and
aiohttp send every request there, and it forwards them to the network (which addresses are
this machine's: :mod:`._network_hosts`).
"""

from __future__ import annotations

import asyncio
import errno
import socket
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any

from ._network_clients import UNREACHED as _UNREACHED
from ._network_clients import calling_client, own_code
from ._network_drivers import DriverGuard
from ._network_grpc import GrpcGuard
from ._network_hosts import is_ip, is_local, port_number, proxy_named
from ._network_report import BlockedConnection, how_refused, refusal_line, refusal_report
from ._network_resolvers import ResolverGuard
from ._own_lookups import asked_itself
from ._thread_handoffs import HandoffWatch

__all__ = ["BlockedConnection", "NetworkBlockedError", "NetworkGuard"]


#: The resolver functions beside ``getaddrinfo`` that look a name (or an address) up.
_RESOLVERS = ("gethostbyname", "gethostbyname_ex", "gethostbyaddr")


class NetworkBlockedError(ConnectionRefusedError):
    """Raised into the app for an outbound connection (or name lookup) off this machine."""


class NetworkGuard:
    """Refuse and record outbound connections to non-loopback addresses while started.

    A context manager; :meth:`start`/:meth:`stop` for fixtures. Guards nest (each restores
    what it replaced); stop them in reverse order.
    """

    def __init__(self) -> None:
        self.blocked: list[BlockedConnection] = []
        self._local: dict[str, None] = {}  # "host:port" reached on this machine, in order
        # The client library of each (for the report): the stack tells, when it does.
        self._clients: dict[BlockedConnection, str] = {}
        self._own_lookups: set[BlockedConnection] = set()  # asked for by the app's code itself
        self._lock = threading.Lock()
        self._saved: tuple[Any, ...] | None = None
        self._resolvers: dict[str, Callable[..., Any]] = {}
        self._drivers: DriverGuard | None = None
        self._grpc: GrpcGuard | None = None
        self._resolvers_in_c: ResolverGuard | None = None
        self._handoffs: HandoffWatch | None = None

    @property
    def active(self) -> bool:
        return self._saved is not None

    def start(self) -> NetworkGuard:
        if self._saved is not None:
            raise RuntimeError("NetworkGuard is already started")
        connect, connect_ex = socket.socket.connect, socket.socket.connect_ex
        sendto, sendmsg = socket.socket.sendto, socket.socket.sendmsg
        getaddrinfo = socket.getaddrinfo
        loop_getaddrinfo = asyncio.BaseEventLoop.getaddrinfo
        # The older resolver functions ask the system's resolver without getaddrinfo (an app's
        # own SSRF check: `socket.gethostbyname(host)` before it connects).
        by_name = {n: getattr(socket, n) for n in _RESOLVERS}
        self._saved = (connect, connect_ex, getaddrinfo, sendto, sendmsg, loop_getaddrinfo)
        self._resolvers = by_name
        guard = self

        def guarded_connect(sock: Any, address: Any) -> None:
            guard._check(sock, address)
            connect(sock, address)

        def guarded_connect_ex(sock: Any, address: Any) -> int:
            try:
                guard._check(sock, address)
            except NetworkBlockedError:
                return errno.ECONNREFUSED
            return connect_ex(sock, address)

        def guarded_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            guard._check_lookup(host, port=port)
            return getaddrinfo(host, port, *args, **kwargs)

        # asyncio resolves in its executor's thread, where the stack names no client: refused
        # on the loop's thread first, the report names the library (asyncpg, aiohttp, the
        # app's module) that asked.
        async def guarded_loop_getaddrinfo(loop: Any, host: Any, port: Any, **kwargs: Any) -> Any:
            guard._check_lookup(host, port=port)
            return await loop_getaddrinfo(loop, host, port, **kwargs)

        # A datagram needs no connect: sendto/sendmsg name their address (a tracing daemon's
        # UDP segments, a metrics agent's).
        def guarded_sendto(sock: Any, data: Any, *args: Any) -> int:
            guard._check(sock, args[-1] if args else None)
            return int(sendto(sock, data, *args))

        def guarded_sendmsg(sock: Any, buffers: Any, *args: Any) -> int:
            if len(args) >= 3:
                guard._check(sock, args[2])
            return int(sendmsg(sock, buffers, *args))

        socket.socket.connect = guarded_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
        socket.socket.sendto = guarded_sendto  # type: ignore[method-assign]
        socket.socket.sendmsg = guarded_sendmsg  # type: ignore[method-assign]
        socket.getaddrinfo = guarded_getaddrinfo
        asyncio.BaseEventLoop.getaddrinfo = guarded_loop_getaddrinfo  # type: ignore[method-assign,assignment]
        for name, resolve in by_name.items():
            setattr(socket, name, self._guarded_resolver(resolve))
        self._drivers = DriverGuard(self._check_host).start()  # C drivers connect in C
        self._grpc = GrpcGuard(is_local, self._record).start()  # so does gRPC's core
        self._resolvers_in_c = ResolverGuard(self._check_lookup).start()  # and c-ares
        # A library's method the app hands to a thread (asyncio.to_thread) connects with no
        # module of the app's on that thread's stack: the submission names it.
        self._handoffs = HandoffWatch(own_code).start()
        return self

    def stop(self) -> None:
        saved, self._saved = self._saved, None
        if saved is None:
            return
        drivers, self._drivers = self._drivers, None
        if drivers is not None:
            drivers.stop()
        resolvers, self._resolvers_in_c = self._resolvers_in_c, None
        if resolvers is not None:
            resolvers.stop()
        grpc, self._grpc = self._grpc, None
        if grpc is not None:
            grpc.stop()
        handoffs, self._handoffs = self._handoffs, None
        if handoffs is not None:
            handoffs.stop()
        connect, connect_ex, getaddrinfo, sendto, sendmsg, loop_getaddrinfo = saved
        asyncio.BaseEventLoop.getaddrinfo = loop_getaddrinfo  # type: ignore[method-assign]
        socket.socket.connect = connect  # type: ignore[method-assign]
        socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
        socket.socket.sendto = sendto  # type: ignore[method-assign]
        socket.socket.sendmsg = sendmsg  # type: ignore[method-assign]
        socket.getaddrinfo = getaddrinfo
        for name, resolve in self._resolvers.items():
            setattr(socket, name, resolve)
        self._resolvers = {}

    def _guarded_resolver(self, resolve: Callable[..., Any]) -> Callable[..., Any]:
        """``resolve`` (``socket.gethostbyname`` and kin), refused for a name or address off
        this machine: a reverse lookup (``gethostbyaddr``) of a public address asks the
        resolver too."""

        reverse = resolve.__name__ == "gethostbyaddr"

        def guarded(host: Any, *args: Any) -> Any:
            self._check_lookup(host, reverse)
            return resolve(host, *args)

        guarded.__name__ = resolve.__name__
        return guarded

    def __enter__(self) -> NetworkGuard:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def client_of(self, blocked: BlockedConnection) -> str:
        """The client library that made ``blocked`` (empty when the stack did not tell)."""
        with self._lock:
            return self._clients.get(blocked, "")

    def refused(self, *, faults: bool = True) -> list[str]:
        """One line per connection refused (``host:port``, how, and the client library).
        ``faults``: whether a fault injector served the block (without one, no transport was
        there to reach: an httpx call is an httpx call)."""
        with self._lock:
            lines = [refusal_line(b, self._clients.get(b, "")) for b in dict.fromkeys(self.blocked)]
        return lines if faults else [line.replace(_UNREACHED, "") for line in lines]

    def report(
        self,
        provider_of: Callable[[str], str | None] | None = None,
        *,
        faults: bool = True,
        accept: str | None = None,
    ) -> str | None:
        """What was blocked, one ``host:port`` per line, or ``None``. ``provider_of`` names
        the registered provider of a host: such a host was called around the plugin.
        ``faults``: whether a fault injector served the test (its advice, else the guard's);
        ``accept``: how its user accepts the refusals (a chaos run says it its own way)."""
        with self._lock:
            blocked = list(dict.fromkeys(self.blocked))
            clients = dict(self._clients)
            own_lookups = set(self._own_lookups)
        return refusal_report(
            blocked,
            clients,
            own_lookups,
            provider_of,
            faults=faults,
            accept=accept,
            attempts=len(self.blocked),
        )

    def _check(self, sock: socket.socket, address: Any) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return  # Unix sockets and friends never leave the machine
        if not isinstance(address, tuple) or not address:
            return
        host = address[0].decode() if isinstance(address[0], bytes) else str(address[0])
        port = port_number(address[1] if len(address) > 1 else None)
        self._check_host(host, port)
        variable = proxy_named(host, port)
        if variable is not None:
            self._block(host, port, variable)

    def _check_host(self, host: str, port: int | None, driver: str = "") -> None:
        """A connection to ``host``: refused off this machine (a socket's, and a C ``driver``'s,
        which resolves names and connects where the patches of ``socket`` do not reach)."""
        if not is_local(host):
            self._block(host, port, "connect", driver)
        with self._lock:
            self._local[f"{host}:{port}" if port is not None else host] = None

    @property
    def local(self) -> list[str]:
        """The ``host:port`` of each connection made on this machine (allowed), first first."""
        with self._lock:
            return list(self._local)

    def _check_lookup(self, host: Any, reverse: bool = False, port: Any = None) -> None:
        """A lookup of ``host`` (for ``port``, when one is known): refused for a name off
        this machine, and for an address off it when ``reverse`` (a reverse lookup asks the
        resolver too). No host (``getaddrinfo(None, port)``) is this machine's addresses."""
        if host is None:
            return
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not is_local(name) and (reverse or not is_ip(name)):
            self._block(name, port_number(port), "resolve")

    def _record(self, host: str, port: int | None, client: str) -> None:
        """A connection to ``host`` that the guard stopped without a refusal (a gRPC channel
        made to it, pointed nowhere): recorded as a refused one, made by ``client``."""
        with self._lock:
            blocked = BlockedConnection(host, port, "connect")
            self.blocked.append(blocked)
            self._clients.setdefault(blocked, client)

    def _block(self, host: str, port: int | None, via: str, client: str = "") -> None:
        with self._lock:
            blocked = BlockedConnection(host, port, via)
            self.blocked.append(blocked)
            found = self._clients.setdefault(blocked, calling_client(client))
            if via == "resolve" and asked_itself(found):
                self._own_lookups.add(blocked)
        target = f"{host}:{port}" if port is not None else host
        raise NetworkBlockedError(
            errno.ECONNREFUSED,
            f"pytest-hardening blocked an outbound connection to {target}{how_refused(via)} "
            "(no real network in hardened tests)",
        )
