"""Name lookups the app's own code asked for itself, and what to do about one of a provider.

An app that resolves a registered provider's host itself (an SSRF check before its httpx
client calls it: ``await loop.getaddrinfo(host, 443)``, ``socket.gethostbyname(host)``; a
health check that resolves the provider's host) has that lookup refused: the faults answer the
client, not the resolver. That is no request through another client, and "send it through
httpx" would mislead: the request goes through httpx already, or there is no request at all.
"""

from __future__ import annotations

import sys
from typing import Any

from ._network_clients import OWN

__all__ = ["LOOKUP_NOTE", "asked_itself", "lookup_advice"]

#: What a report's line adds to a provider's host the app looked up itself.
LOOKUP_NOTE = ", looked up by the app itself (a name lookup, not a request)"

#: Functions that only pass a lookup on (anyio's ``getaddrinfo`` and its backend's): the code
#: that called them asked for it, not a client on its way to connecting.
_LOOKUPS = frozenset({"getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"})


def asked_itself(client: str) -> bool:
    """Whether the lookup being refused, made by ``client`` (as ``calling_client`` names it),
    was asked for by the app's own code itself: its module called the resolver (or a wrapper
    of it), not a client on its way to connecting (asyncio's ``open_connection``, urllib)."""
    frame: Any = sys._getframe(1)
    while frame is not None:
        module = str(frame.f_globals.get("__name__", ""))
        if module.partition(".")[0] != "pytest_hardening":  # the guard's own frames
            if client == f"{module}{OWN}":
                return True
            if frame.f_code.co_name not in _LOOKUPS:
                return False
        frame = frame.f_back
    return False


def lookup_advice(clients: list[str]) -> str:
    """What to do when the app's own code (``clients``: "app.security's own code") looked a
    provider's host up itself."""
    modules = sorted({c.removesuffix(OWN) for c in clients})
    return (
        f"{', '.join(modules)} looked up a provider's host itself (an SSRF check before "
        "calling it, a health check resolving it), and the guard refused that name lookup (the "
        "faults answer the provider's httpx calls, not a resolver): stand in for that lookup in "
        "a fixture (`monkeypatch.setattr` on the app's function that resolves, returning a "
        "public address for the providers' hosts), or turn the check off in the tests' "
        "settings when the app has a setting for it, as docs/fixtures.md says under "
        '"Clients the faults do not reach"'
    )
