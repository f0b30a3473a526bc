"""The environment a :class:`~._process.LiveApp` runs in: this process's, less the names it
unsets, and, offline, with the HTTP(S) proxy variables pointed at a port that refuses every
connection (``NO_PROXY`` lets 127.0.0.1 through): an app whose HTTP clients honour them
(httpx, requests, urllib3, sentry-sdk) cannot reach the real network, only the live servers.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

__all__ = ["HOST", "app_environment"]

HOST = "127.0.0.1"
_PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


def app_environment(
    env: Mapping[str, str], unset: frozenset[str], port: int, *, offline: bool
) -> tuple[dict[str, str], socket.socket | None]:
    """The app's environment (``{port}`` in ``env``'s values replaced by ``port``), and the
    socket the proxies point at when ``offline``: the caller closes it once the app is gone."""
    environment = {k: v for k, v in os.environ.items() if k not in unset}
    for name in _PROXY_VARIABLES:
        environment.pop(name, None)
        environment.pop(name.lower(), None)
    dead_end = None
    if offline:
        # Bound but never listening: every connection to it is refused, and nobody else
        # can take the port while the app runs.
        dead_end = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        dead_end.bind((HOST, 0))
        proxy = f"http://{HOST}:{dead_end.getsockname()[1]}"
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            environment[name] = environment[name.lower()] = proxy
        environment["NO_PROXY"] = environment["no_proxy"] = f"{HOST},localhost"
    environment.update({k: v.replace("{port}", str(port)) for k, v in env.items()})
    return environment, dead_end
