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
    """Split an absolute http(s) URL with a host, or return None when it is malformed."""
    if not value or any(ch.isspace() for ch in value):
        return None
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return parts


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
    """True for localhost names and loopback/unspecified addresses (127.0.0.1, 0.0.0.0, [::1])."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    address = _ip_address(host)
    return address is not None and (address.is_loopback or address.is_unspecified)


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
    host = host.lower().rstrip(".")
    return host == PLACEHOLDER_HOST or host.endswith("." + PLACEHOLDER_HOST)


def is_hostname(value: str) -> bool:
    """A bare DNS hostname (no scheme, port or path), as Railway's RAILWAY_PUBLIC_DOMAIN is."""
    return bool(_HOSTNAME.match(value.lower()))
