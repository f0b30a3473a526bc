"""Which addresses stay on this machine, for a :class:`~._network.NetworkGuard`.

Loopback names and addresses (127.0.0.0/8, ::1, ``localhost``) are this machine, except a
proxy the environment names there (``HTTPS_PROXY`` & co.): clients such as urllib, requests,
boto3 and aiohttp send every request to it, and it forwards them to the network.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
import urllib.request
from typing import Any

__all__ = ["is_ip", "is_local", "port_number", "proxy_named"]


def is_local(host: str) -> bool:
    """Loopback names and addresses (and the unspecified address, which means this host)."""
    name = host.strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback or address.is_unspecified


def is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    return True


_DEFAULT_PORTS = {"http": 80, "https": 443, "socks4": 1080, "socks5": 1080, "socks5h": 1080}


def proxy_named(host: str, port: int | None) -> str | None:
    """The environment variable naming a loopback proxy at ``host:port``, if one does.

    Read at each loopback connection, not at start: a test may set the variable later."""
    for scheme, url in urllib.request.getproxies_environment().items():
        if scheme == "no":
            continue
        try:
            parts = urllib.parse.urlsplit(url if "://" in url else f"http://{url}")
            proxy_port = parts.port or _DEFAULT_PORTS.get(parts.scheme)
        except ValueError:  # not an address: no client can connect there either
            continue
        proxy_host = parts.hostname or ""
        if proxy_port != port or not is_local(proxy_host):
            continue
        if not is_ip(proxy_host) or _same_address(proxy_host, host):
            return f"{scheme.upper()}_PROXY"  # a name (localhost): any loopback address
    return None


def _same_address(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a.strip("[]")) == ipaddress.ip_address(b.strip("[]"))
    except ValueError:
        return False


def port_number(value: Any) -> int | None:
    """A socket address's port as a number (``None`` when it names none)."""
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
