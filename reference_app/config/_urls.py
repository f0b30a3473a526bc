"""URL parsing and safety checks shared by the configuration rules (no values in messages)."""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import SplitResult, urlsplit

PLACEHOLDER_HOST = "yourdomain.com"

_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$"
)


def parse_http_url(value: str) -> SplitResult | None:
    """Split an absolute http(s) URL with a host, or return None when it is malformed (port 0
    and hosts with no IDNA/UTS-46 form included)."""
    if not value or any(ch.isspace() for ch in value):
        return None
    try:
        parts = urlsplit(value)
        port = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or port == 0:
        return None
    if normalise_host(parts.hostname) is None:
        return None
    return parts


def normalise_host(host: str) -> str | None:
    """The host as clients resolve it: IDNA/UTS-46 mapped (``127。0。0。1`` → ``127.0.0.1``,
    full-width ``ｌｏｃａｌｈｏｓｔ`` → ``localhost``), lowercase, without a trailing dot; IP
    literals as they are. None when no client could use it."""
    bare = host.strip("[]").rstrip(".")
    if _ip_address(bare) is not None or ":" in bare:
        return bare.lower()
    if bare.isascii():
        return bare.lower() or None
    try:
        import idna  # httpx's own dependency: the mapping httpx applies

        return idna.encode(bare, uts46=True).decode("ascii").lower()
    except (idna.IDNAError, UnicodeError, ValueError):
        return None


def origin_of(value: str) -> str | None:
    """``scheme://host[:port]`` for a browser origin, or None when ``value`` is not an origin.

    A trailing ``/`` is accepted and dropped: browsers send ``Origin`` without one, so a stored
    ``https://a.example/`` would never match.
    """
    parts = parse_http_url(value)
    if parts is None or parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    if parts.username or parts.password:
        return None
    # Browsers send international hosts in their ASCII (punycode) form in Origin.
    try:
        netloc = parts.netloc.lower().encode("idna").decode("ascii")
    except UnicodeError:
        return None
    return f"{parts.scheme.lower()}://{netloc}"


def is_local_host(host: str) -> bool:
    """True for localhost names and loopback/unspecified addresses (127.0.0.1, 0.0.0.0, [::1]),
    in any spelling a client maps onto them (see :func:`normalise_host`)."""
    host = normalise_host(host) or host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = _ip_address(host)
    return address is not None and (address.is_loopback or address.is_unspecified)


#: Names that resolve only inside a private network or a cluster.
_INTERNAL_SUFFIXES = (".internal", ".svc.cluster.local", ".cluster.local", ".local", ".lan")
_INTERNAL_NAMES = frozenset({"metadata", "metadata.google.internal", "instance-data"})
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT


def is_internal_host(host: str) -> bool:
    """True for hosts no public client can reach: link-local and cloud metadata addresses
    (169.254.169.254), RFC 1918, shared (100.64/10) and ULA (fc00::/7) addresses, and
    ``*.internal``, ``*.svc.cluster.local``, ``*.local`` names."""
    host = normalise_host(host) or host.strip("[]").lower().rstrip(".")
    if host in _INTERNAL_NAMES or host.endswith(_INTERNAL_SUFFIXES):
        return True
    address = _ip_address(host)
    if address is None:
        return False
    return (
        address.is_private
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or (isinstance(address, ipaddress.IPv4Address) and address in _SHARED)
    ) and not (address.is_loopback or address.is_unspecified)


def _ip_address(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """``host`` as an address, including the spellings resolvers accept for IPv4 (``127.1``,
    ``2130706433``, ``0x7f000001``, ``0177.0.0.1``) and IPv4-mapped IPv6 (``::ffff:127.0.0.1``),
    so those cannot slip a loopback URL past the production rules."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except (OSError, ValueError):
            return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_placeholder_host(host: str) -> bool:
    host = normalise_host(host) or host.lower().rstrip(".")
    return host == PLACEHOLDER_HOST or host.endswith("." + PLACEHOLDER_HOST)


def is_hostname(value: str) -> bool:
    """A bare DNS hostname (no scheme, port or path), as Railway's RAILWAY_PUBLIC_DOMAIN is."""
    return bool(_HOSTNAME.match(value.lower()))
