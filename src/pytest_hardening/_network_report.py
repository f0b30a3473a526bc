"""What a :class:`~._network.NetworkGuard`'s refusals tell the user: one line per connection
refused, and what to do (the app's own lookups, clients around the plugin, the rest)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import NamedTuple

from ._network_clients import UNREACHED as _UNREACHED
from ._network_clients import around_advice, client_advice
from ._own_lookups import LOOKUP_NOTE, lookup_advice

__all__ = ["BlockedConnection", "how_refused", "refusal_line", "refusal_report"]


class BlockedConnection(NamedTuple):
    """A connection (or name lookup) the guard refused."""

    host: str
    port: int | None
    via: str  # "connect", "resolve", or the variable naming the proxy connected to


def refusal_report(
    blocked: list[BlockedConnection],
    clients: Mapping[BlockedConnection, str],
    own_lookups: Collection[BlockedConnection],
    provider_of: Callable[[str], str | None] | None,
    *,
    faults: bool,
    accept: str | None,
    attempts: int,
) -> str | None:
    """The report of ``blocked`` (each once, in order; ``attempts`` in all), or ``None``; see
    :meth:`~._network.NetworkGuard.report` for the rest."""
    if not faults:  # no transport was reached: every client went to the network
        clients = {b: c.replace(_UNREACHED, "") for b, c in clients.items()}
    if not blocked:
        return None
    # The app's own lookups of providers' hosts (an SSRF check, a health check) get advice
    # of their own: the host is registered, and any call that follows goes through httpx.
    lookups = [b for b in blocked if b in own_lookups and provider_of and provider_of(b.host)]
    rest = [b for b in blocked if b not in lookups]
    lines, around, around_hosts = [], set(), set()
    for b in blocked[:10]:
        client = clients.get(b, "")
        line = refusal_line(b, client)
        provider = provider_of(b.host) if provider_of is not None else None
        if provider is not None:
            line += f": the host of provider {provider!r}"
            if b in lookups:
                line += LOOKUP_NOTE
            else:
                around.add(client or "a client other than httpx or httpx2")
                around_hosts.add(b.host)
        lines.append(line)
    proxied = any(b.via not in ("connect", "resolve") for b in blocked)
    advices = [lookup_advice([clients.get(b, "") for b in lookups])] if lookups else []
    if around:
        advices.append(around_advice(sorted(around), sorted(around_hosts)))
    elif rest or not advices:
        advices.append(
            client_advice([(clients.get(b, ""), b.port) for b in rest], [b.host for b in rest])
        )
    advice = "; ".join(advices)
    if accept is None:
        accept = (
            "accept the refusals with faults.allow_blocked() (they stay refused; the "
            "hardening_allow_network marker would let them reach the real network)"
            if faults
            else "mark it hardening_allow_network (it would reach the real network)"
        )
    return (
        f"the app (or the test itself) tried to reach the network {attempts} time(s); "
        "each connection was refused (only loopback is allowed):\n"
        + "\n".join(lines)
        + f"\n{advice}, "
        + ("unset the proxy variable for the tests, " if proxied else "")
        + f"or, when the test does not depend on that call, {accept}."
    )


def refusal_line(blocked: BlockedConnection, client: str) -> str:
    # A lookup by name alone (gethostbyname, a DNS query) has no port to show.
    where = blocked.host if blocked.port is None else f"{blocked.host}:{blocked.port}"
    line = f"  {where}{how_refused(blocked.via)}"
    return line + (f", from {client}" if client else "")


def how_refused(via: str) -> str:
    """How a refused connection went out, for its line (nothing for a plain connect)."""
    if via == "resolve":
        return " (name lookup)"
    if via == "connect":
        return ""
    return f", the proxy {via} names, which forwards requests to the network"
