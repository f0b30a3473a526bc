"""Name lookups made in C: aiodns, over c-ares, which aiohttp's default resolver uses when it
is installed.

c-ares sends its DNS queries from C: the guard's patches of ``socket`` and of the event loop's
``getaddrinfo`` never see them, and a test's lookup of a provider's host left the machine
unseen (a trial's). While a :class:`~._network.NetworkGuard` runs, ``aiodns.DNSResolver``'s
lookups first hand the name to the guard, which refuses one off this machine as it refuses
``socket.getaddrinfo``'s (a reverse lookup of an address off it too); aiohttp reports the
refusal as the DNS error it is. aiodns imported while the guard runs is reached at its import.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import ModuleType
from typing import Any

from ._import_watch import PatchedWhenLoaded

__all__ = ["ResolverGuard"]

#: ``DNSResolver``'s lookups, and whether each is a reverse one (of an address).
_LOOKUPS = (
    ("query", False),
    ("query_dns", False),
    ("gethostbyname", False),
    ("getaddrinfo", False),
    ("gethostbyaddr", True),
    ("getnameinfo", True),
)

#: ``refuse(host, reverse, port)``: raises the guard's error for a lookup that would leave
#: the machine.
Refuse = Callable[[Any, bool, Any], None]


class ResolverGuard:
    """While started, aiodns's lookups are checked first (``refuse``; see the module)."""

    def __init__(self, refuse: Refuse) -> None:
        self._refuse = refuse
        self._patches = PatchedWhenLoaded(("aiodns",), self._patch)

    def start(self) -> ResolverGuard:
        self._patches.start()
        return self

    def stop(self) -> None:
        self._patches.stop()

    def _patch(self, module: ModuleType) -> Callable[[], None] | None:
        cls = getattr(module, "DNSResolver", None)
        if not isinstance(cls, type):
            return None
        saved = {name: vars(cls)[name] for name, _ in _LOOKUPS if callable(vars(cls).get(name))}
        for name, reverse in _LOOKUPS:
            if name in saved:
                setattr(cls, name, self._checked(saved[name], reverse))

        def undo() -> None:
            for name, real in saved.items():
                setattr(cls, name, real)

        return undo

    def _checked(self, real: Callable[..., Any], reverse: bool) -> Callable[..., Any]:
        refuse = self._refuse

        @functools.wraps(real)
        def checked(resolver: Any, host: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(host, tuple):  # getnameinfo takes a socket address: (host, port)
                refuse(host[0], reverse, host[1] if len(host) > 1 else None)
            else:  # getaddrinfo's port, as aiohttp passes it
                refuse(host, reverse, kwargs.get("port"))
            return real(resolver, host, *args, **kwargs)

        return checked
