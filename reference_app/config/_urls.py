"""URL parsing and safety checks shared by the configuration rules (no values in messages)."""

from __future__ import annotations

import ipaddress
import re
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
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def is_local_host(host: str) -> bool:
    """True for localhost names and loopback/unspecified addresses (127.0.0.1, 0.0.0.0, [::1])."""
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def is_placeholder_host(host: str) -> bool:
    host = host.lower().rstrip(".")
    return host == PLACEHOLDER_HOST or host.endswith("." + PLACEHOLDER_HOST)


def is_hostname(value: str) -> bool:
    """A bare DNS hostname (no scheme, port or path), as Railway's RAILWAY_PUBLIC_DOMAIN is."""
    return bool(_HOSTNAME.match(value.lower()))
