"""route_table: an app's ``(method, path)`` pairs, read from its framework's own route objects."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ._wrapped import innermost

__all__ = ["Route", "route_table", "routes_understood"]

Route = tuple[str, str]


def route_table(app: Any) -> set[Route]:
    """``(method, path)`` pairs of an app whose ``app.routes`` are objects with a ``path`` and
    ``methods`` (Starlette, FastAPI, Litestar; following mounts and sub-routers) or of a
    Quart/Flask app (its Werkzeug ``url_map``; ``<int:id>`` reads as ``{id}``).

    Other apps yield an empty set (the OpenAPI and request checks still apply to them;
    :meth:`RouteAuditor.dev_only` refuses to call that "no development routes")."""
    found: set[Route] = set()
    app = innermost(app)  # behind the middleware wrapped around it (SentryAsgiMiddleware)
    routes = getattr(app, "routes", None)
    url_map: Any = getattr(app, "url_map", None)
    if routes is not None:
        _collect(routes, "", found)
    elif _is_url_map(url_map):
        for rule in url_map.iter_rules():
            path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", str(rule.rule))
            methods = {m.upper() for m in (rule.methods or ())} - {"HEAD", "OPTIONS"}
            found.update((m, path) for m in methods or {"ANY"})
    return found


def _is_url_map(url_map: Any) -> bool:
    return callable(getattr(url_map, "iter_rules", None))


def routes_understood(app: Any) -> bool:
    """Whether :func:`route_table` reads ``app``'s routes (an empty table then means none)."""
    app = innermost(app)
    return getattr(app, "routes", None) is not None or _is_url_map(getattr(app, "url_map", None))


def _collect(routes: Iterable[Any], prefix: str, found: set[Route]) -> None:
    for route in routes:
        # FastAPI >= 0.16x includes routers lazily; expand them to their effective routes.
        expand = getattr(route, "effective_route_contexts", None)
        if callable(expand):
            _collect(list(expand()), prefix, found)
            continue
        path = prefix + str(getattr(route, "path", ""))
        methods = getattr(route, "methods", None)
        children = getattr(route, "routes", None)
        if children is not None and methods is None:  # Mount, Host, sub-router
            _collect(children, path.rstrip("/"), found)
        elif methods:
            # HEAD and OPTIONS come with every route in some frameworks (Starlette adds HEAD to
            # GET, Litestar OPTIONS to all): only a route of nothing else declares them.
            named = {m.upper() for m in methods}
            found.update((m, path) for m in (named - {"HEAD", "OPTIONS"} or named))
        elif path:  # websocket routes and plain endpoints
            found.add(("WEBSOCKET" if "WebSocket" in type(route).__name__ else "ANY", path))
