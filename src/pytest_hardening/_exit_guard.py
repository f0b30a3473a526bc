"""ExitGuard: the provider hosts a test session faked stay unreachable until the process ends.

During a test every outbound request is answered in memory or refused. After the session,
the guards are gone, yet the app's libraries can still send: a trace exporter's thread (the
OpenAI Agents SDK exports its spans at interpreter exit) or an ``atexit`` flush sends what the
tests made, to the real host, with whatever key the shell's environment holds. Once the
session ends, names of the hosts the tests faked no longer resolve in this process (each
refusal said once on stderr): a library that reaches for one at exit meets a refused
connection, as it would offline. Other hosts, loopback and a process that goes on after an
in-process ``pytest.main`` inside a test (pytester) are left alone.
"""

from __future__ import annotations

import fnmatch
import socket
import sys
from collections.abc import Iterable, Mapping
from typing import Any, TextIO

from ._network import NetworkBlockedError
from ._network_hosts import is_local
from ._providers import Provider, host_pattern

__all__ = ["ExitGuard", "faked_hosts"]


def faked_hosts(providers: Mapping[str, Provider]) -> set[str]:
    """The hosts (or ``*.`` patterns) ``providers`` name, loopback aside."""
    found = {host_pattern(provider.url) for provider in providers.values()}
    return {host for host in found if host and not is_local(host)}


class ExitGuard:
    """While started, ``socket.getaddrinfo`` refuses host names matching ``patterns``."""

    def __init__(self, patterns: Iterable[str], *, stream: TextIO | None = None) -> None:
        self.patterns = frozenset(p.lower() for p in patterns)
        self.refused: list[str] = []
        self._stream = stream
        self._saved: Any = None

    def covers(self, host: str) -> bool:
        name = host.rstrip(".").lower()
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.patterns)

    def start(self) -> ExitGuard:
        if self._saved is not None or not self.patterns:
            return self
        real = self._saved = socket.getaddrinfo
        guard = self

        def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else str(host or "")
            if guard.covers(name):
                guard._refuse(name)
            return real(host, port, *args, **kwargs)

        socket.getaddrinfo = getaddrinfo
        return self

    def stop(self) -> None:
        if self._saved is not None:
            socket.getaddrinfo = self._saved
            self._saved = None

    def _refuse(self, host: str) -> None:
        if host not in self.refused:
            self.refused.append(host)
            stream = self._stream or sys.__stderr__
            if stream is not None:
                stream.write(
                    f"pytest-hardening: refused {host} after the test session: the tests faked "
                    "it, and something in this process (a trace exporter or an atexit flush, "
                    "say) tried to reach it for real with what they made\n"
                )
        raise NetworkBlockedError(
            f"{host}: the test session faked this host; after it, the process does not reach "
            "it for real"
        )
