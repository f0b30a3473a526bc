"""gRPC channels, which resolve and connect in C (gRPC's core), outside Python's ``socket``.

The guard's patches of ``socket`` never see a gRPC channel: a hardened test reached the host a
channel named, through the Google Cloud clients built on gRPC too (Firestore, Pub/Sub, Speech,
through ``google.api_core``). While a :class:`~._network.NetworkGuard` runs,
``grpc.insecure_channel``/``secure_channel`` and ``grpc.aio``'s read their target (gRPC's name
syntax). A channel to a host off this machine is recorded as the guard records a refused
connection (the test fails at teardown, naming host, port and the client that made it) and is
made, without TLS, to a Unix socket that does not exist, named after the target: every call
fails at once with ``UNAVAILABLE``, as with the host unreachable, nothing is resolved, nothing
leaves the machine, and the channel's call credentials are never asked for a token.

The channel is recorded when it is made, not at each call: gRPC connects on its own schedule
(and again in the background after a failure), and a channel is made to be used. One kept
past its test (an app kept between tests) goes on failing its calls in later tests, which the
test that made it reported. A channel made before any guard started (at the import of a module
collected with the tests), or by a function imported by name before (``from grpc import
insecure_channel``), is not reached.
"""

from __future__ import annotations

import functools
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

from ._import_watch import PatchedWhenLoaded

__all__ = ["GrpcGuard", "grpc_hosts"]

#: Record a channel to ``host:port`` made through ``client`` (the guard's report line).
Record = Callable[[str, "int | None", str], None]

_DEFAULT_PORT = 443  # gRPC's, for a target without one
_LOCAL_SCHEMES = frozenset({"unix", "unix-abstract", "vsock"})
_SCHEMES = frozenset({"dns", "ipv4", "ipv6", "xds", "google-c2p"}) | _LOCAL_SCHEMES


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
    """While started, a gRPC channel made to a host that ``local`` refuses is given to
    ``record`` and made to a socket that does not exist (see the module)."""

    def __init__(self, local: Callable[[str], bool], record: Record) -> None:
        self._local = local
        self._record = record
        self._patches = PatchedWhenLoaded(["grpc"], self._patch)

    def start(self) -> GrpcGuard:
        self._patches.start()
        return self

    def stop(self) -> None:
        self._patches.stop()

    def _patch(self, grpc: ModuleType) -> Callable[[], None]:
        undo: list[Callable[[], None]] = []
        for module in (grpc, sys.modules.get("grpc.aio")):
            if isinstance(module, ModuleType):
                insecure = getattr(module, "insecure_channel", None)
                secure = getattr(module, "secure_channel", None)
                if callable(insecure) and callable(secure):
                    undo += self._wrap(module, insecure, secure)

        def restore() -> None:
            for each in reversed(undo):
                each()

        return restore

    def _wrap(self, module: ModuleType, insecure: Any, secure: Any) -> list[Callable[[], None]]:
        guard = self

        def insecure_channel(target: Any, *args: Any, **kwargs: Any) -> Any:
            nowhere = guard._nowhere(target)
            if nowhere is None:
                return insecure(target, *args, **kwargs)
            return insecure(nowhere, *_after_target(args, kwargs))

        def secure_channel(target: Any, credentials: Any, *args: Any, **kwargs: Any) -> Any:
            nowhere = guard._nowhere(target)
            if nowhere is None:
                return secure(target, credentials, *args, **kwargs)
            return insecure(nowhere, *_after_target(args, kwargs))

        for name, guarded, real in (
            ("insecure_channel", insecure_channel, insecure),
            ("secure_channel", secure_channel, secure),
        ):
            guarded.__wrapped__ = real  # type: ignore[attr-defined]
            guarded.__doc__ = real.__doc__
            setattr(module, name, guarded)
        return [
            functools.partial(setattr, module, "insecure_channel", insecure),
            functools.partial(setattr, module, "secure_channel", secure),
        ]

    def _nowhere(self, target: Any) -> str | None:
        """For a channel to a host off this machine: recorded, and where it goes instead;
        None for a target on this machine."""
        text = target.decode() if isinstance(target, bytes) else target
        if not isinstance(text, str):
            return None
        away = [(host, port) for host, port in grpc_hosts(text) if not self._local(host)]
        if not away:
            return None
        from ._network_clients import calling_client

        client = calling_client("grpc")
        for host, port in away:
            self._record(host, port, client)
        host, port = away[0]
        # A folder never made: the call fails at once, and its error names the target.
        folder = Path(tempfile.gettempdir()) / "pytest-hardening-blocked-grpc"
        name = f"{quote(host, safe='.-')[:60]}_{port}"
        return f"unix:{folder / name}"


def _after_target(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """``(options, compression[, interceptors])`` for the redirected insecure channel, from
    the arguments after the target (and a secure channel's credentials)."""
    rest = dict(zip(("options", "compression", "interceptors"), args, strict=False))
    rest.update(kwargs)
    given = (rest.get("options"), rest.get("compression"))
    return (*given, rest["interceptors"]) if "interceptors" in rest else given
