"""The test's own respx routers, beside the injector's catch-all one.

respx asks its started routers in the order they started; the first whose route matches
answers. The injector's router matches every request, so a ``respx_mock`` started after it
would never see its own hosts: they would be answered as unregistered. The injector lets such a
request go to the router that routes it, in either order of start; on a provider's own host
only a route of the test that names it (not a catch-all) takes it from the provider's faults.
"""

from __future__ import annotations

from typing import Any

import httpx
import respx
import respx.patterns

__all__ = ["routed_elsewhere"]


def routed_elsewhere(
    ours: respx.MockRouter | None, request: httpx.Request, *, catch_all: bool = True
) -> bool:
    """Whether another started respx router has a route whose pattern matches ``request``
    (patterns only: no side effect runs, no call is recorded). Without ``catch_all``, only a
    route that names a host or URL counts (not ``respx_mock.route()``, every request, nor
    ``respx_mock.get()``, every GET)."""
    for router in respx.mocks.HTTPCoreMocker.routers:
        if router is ours:
            continue
        for route in router.routes:
            pattern = route.pattern
            if pattern is None or not pattern.match(request):
                if pattern is None and catch_all:
                    return True
                continue
            if catch_all or _names_a_host(pattern):
                return True
    return False


def _names_a_host(pattern: Any) -> bool:
    if isinstance(pattern, (respx.patterns.Host, respx.patterns.URL)):
        return True
    parts = getattr(pattern, "value", None) if isinstance(pattern, respx.patterns._And) else None
    return isinstance(parts, tuple) and any(_names_a_host(part) for part in parts)
