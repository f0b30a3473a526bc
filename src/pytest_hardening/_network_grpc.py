"""gRPC channels, which resolve and connect in C (gRPC's core), outside Python's ``socket``.

The guard's patches of ``socket`` never see a gRPC channel: a hardened test reached the host a
channel named, through the Google Cloud clients built on gRPC too (Firestore, Pub/Sub, Speech,
through ``google.api_core``). While a :class:`~._network.NetworkGuard` runs,
``grpc.insecure_channel``/``secure_channel`` and ``grpc.aio``'s read their target (gRPC's name
syntax), and a channel to a host off this machine is made, without TLS, to a Unix socket where
a gRPC server of the guard's answers every call ``UNAVAILABLE`` (as a provider that cannot be
reached is reported) and records it as the guard records a refused connection: the test fails
at teardown, naming host, port and the client. Nothing is resolved and nothing leaves the
machine; the channel's call credentials are never asked for a token.

A channel outlives the test that made it (an app kept between tests): the socket is one per
process, and each guard serves it while it runs, so a later test's calls are that test's; a
call while no guard runs is refused there. A channel made before any guard started (at the
import of a module collected with the tests), or by a function imported by name before
(``from grpc import insecure_channel``), is not reached.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote, unquote

__all__ = ["GrpcGuard", "grpc_hosts"]

#: Record a call to ``host:port`` made through ``client`` (the guard's report line).
Record = Callable[[str, "int | None", str], None]

_DEFAULT_PORT = 443  # gRPC's, for a target without one
_LOCAL_SCHEMES = frozenset({"unix", "unix-abstract", "vsock"})
_SCHEMES = frozenset({"dns", "ipv4", "ipv6", "xds", "google-c2p"}) | _LOCAL_SCHEMES
#: The redirected channel's user agent names its target: the server reads it from each call.
_AGENT = "pytest-hardening-redirected"


def grpc_hosts(target: str) -> list[tuple[str, int]]:
    """The hosts (and ports) a channel to ``target`` connects to, read as gRPC reads it
    (``host:port``, ``dns:[//authority/]host[:port]``, ``ipv4:``/``ipv6:`` address lists,
    another resolver's ``scheme:///name``): none for a Unix socket or a vsock."""
    text = target.strip()
    scheme, colon, rest = text.partition(":")
    scheme = scheme.lower()
    if colon and scheme in _LOCAL_SCHEMES:
        return []
    if colon and scheme in ("ipv4", "ipv6"):
        return [_host_port(item) for item in rest.split(",") if item.strip()]
    if colon and (scheme in _SCHEMES or rest.startswith("//")):
        # dns:[//authority/]name, xds:///name, a resolver of the app's own: the name is
        # what it resolves (the authority is the DNS server asked, not the host reached).
        name = rest[2:].partition("/")[2] if rest.startswith("//") else rest
        return [_host_port(name)]
    return [_host_port(text)]  # gRPC's fallback: dns:///target


def _host_port(item: str) -> tuple[str, int]:
    item = item.strip()
    if item.startswith("["):  # [IPv6]:port
        host, _, rest = item[1:].partition("]")
        port = rest.lstrip(":")
    elif item.count(":") == 1:
        host, _, port = item.partition(":")
    else:  # a name without a port, or a bare IPv6 address
        host, port = item, ""
    return host, int(port) if port.isdigit() else _DEFAULT_PORT


class GrpcGuard:
    """While started, gRPC channels to a host that ``local`` refuses are served by this
    guard's server, which gives each call to ``record`` (see the module)."""

    def __init__(self, local: Callable[[str], bool], record: Record) -> None:
        self._local = local
        self._record = record
        self._undo: list[Callable[[], None]] = []
        self._watch: Any = None
        self._server: Any = None
        self._clients: dict[str, str] = {}  # by target: who made the channel, for the report
        self._lock = threading.Lock()

    def start(self) -> GrpcGuard:
        if "grpc" in sys.modules:
            self._patch()
            if _socket_path().parent.is_dir():  # earlier tests' channels: their calls are ours
                self._serving()
        else:
            from ._import_watch import ImportWatch

            self._watch = ImportWatch(["grpc"], self._patch_imported).start()
        return self

    def stop(self) -> None:
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        while self._undo:
            self._undo.pop()()
        with self._lock:
            server, self._server = self._server, None
        if server is not None:
            # Its calls are refused at once; a shutdown that does not finish is not waited out.
            server.stop(None).wait(5)

    def _patch_imported(self) -> None:
        if "grpc" in sys.modules and not self._undo:
            self._patch()

    def _patch(self) -> None:
        grpc = sys.modules["grpc"]
        for module in (grpc, sys.modules.get("grpc.aio")):
            if isinstance(module, ModuleType):
                insecure = getattr(module, "insecure_channel", None)
                secure = getattr(module, "secure_channel", None)
                if callable(insecure) and callable(secure):
                    self._wrap(module, insecure, secure)

    def _wrap(self, module: ModuleType, insecure: Any, secure: Any) -> None:
        guard = self

        def insecure_channel(target: Any, *args: Any, **kwargs: Any) -> Any:
            redirect = guard._redirect(target)
            if redirect is None:
                return insecure(target, *args, **kwargs)
            return insecure(redirect[0], *_options(args, kwargs, redirect[1]))

        def secure_channel(target: Any, credentials: Any, *args: Any, **kwargs: Any) -> Any:
            redirect = guard._redirect(target)
            if redirect is None:
                return secure(target, credentials, *args, **kwargs)
            return insecure(redirect[0], *_options(args, kwargs, redirect[1]))

        for name, guarded, real in (
            ("insecure_channel", insecure_channel, insecure),
            ("secure_channel", secure_channel, secure),
        ):
            guarded.__wrapped__ = real  # type: ignore[attr-defined]
            guarded.__doc__ = real.__doc__
            setattr(module, name, guarded)
            self._undo.append(functools.partial(setattr, module, name, real))

    def _redirect(self, target: Any) -> tuple[str, str] | None:
        """Where a channel to ``target`` goes instead, and the user agent that names it; None
        for a target on this machine."""
        text = target.decode() if isinstance(target, bytes) else target
        if not isinstance(text, str):
            return None
        away = [(host, port) for host, port in grpc_hosts(text) if not self._local(host)]
        if not away:
            return None
        from ._network_clients import calling_client

        host, port = away[0]
        named = f"{quote(host, safe='')}:{port}"
        with self._lock:
            self._clients[named] = calling_client("grpc")
        self._serving()
        return f"unix:{_socket_path()}", f"{_AGENT}/{named}"

    def _serving(self) -> None:
        with self._lock:
            if self._server is None:
                self._server = _serve(self._call)

    def _call(self, agent: str) -> str:
        """A call on a redirected channel whose user agent is ``agent``: recorded. The status
        details the app's call fails with."""
        named = agent.partition(f"{_AGENT}/")[2].partition(" ")[0]
        host, _, port = named.rpartition(":")
        with self._lock:
            client = self._clients.get(named, "grpc")
        self._record(unquote(host), int(port) if port.isdigit() else None, client)
        return (
            f"pytest-hardening blocked a gRPC call to {unquote(host)}:{port} (no real network "
            "in hardened tests)"
        )


def _options(args: tuple[Any, ...], kwargs: dict[str, Any], agent: str) -> tuple[Any, ...]:
    """``(options, compression[, interceptors])`` for the redirected channel, from the
    arguments after the target (and credentials): the app's options, its user agent replaced
    by ``agent``."""
    rest = dict(zip(("options", "compression", "interceptors"), args, strict=False))
    rest.update(kwargs)
    options = [
        option
        for option in rest.get("options") or ()
        if not (isinstance(option, Sequence) and option and option[0] == "grpc.primary_user_agent")
    ]
    options.append(("grpc.primary_user_agent", agent))
    given = (options, rest.get("compression"))
    return (*given, rest["interceptors"]) if "interceptors" in rest else given


def _socket_path() -> Path:
    """The Unix socket of this process's redirected channels."""
    getuid: Callable[[], int] | None = getattr(os, "getuid", None)
    uid = getuid() if getuid is not None else 0
    return Path(tempfile.gettempdir()) / f"pytest-hardening-grpc-{uid}-{os.getpid()}" / "sock"


def _serve(call: Callable[[str], str]) -> Any:
    """A gRPC server on :func:`_socket_path` answering every call ``UNAVAILABLE`` with
    ``call(user_agent)`` as details."""
    import grpc

    class Refuse(grpc.GenericRpcHandler):  # type: ignore[misc]
        def service(self, details: Any) -> Any:
            metadata = dict(details.invocation_metadata or ())
            message = call(str(metadata.get("user-agent", "")))

            def refuse(request: Any, context: Any) -> Any:
                context.abort(grpc.StatusCode.UNAVAILABLE, message)

            # Every kind of call: a stream is refused before its first message is read.
            return grpc.stream_stream_rpc_method_handler(refuse)

    path = _socket_path()
    if not path.parent.is_dir():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        atexit.register(shutil.rmtree, path.parent, True)
    if path.exists():
        path.unlink()  # an earlier guard's, no longer served
    server = grpc.server(ThreadPoolExecutor(max_workers=2, thread_name_prefix="hardening-grpc"))
    server.add_generic_rpc_handlers((Refuse(),))
    server.add_insecure_port(f"unix:{path}")
    server.start()
    return server
