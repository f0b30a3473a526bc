"""The test's own respx routers, beside the injector's catch-all one.

respx asks its started routers in the order they started; the first whose route matches
answers. The injector's router matches every request, so a ``respx_mock`` started after it
would never see its own hosts: they would be answered as unregistered. The injector lets such a
request go to the router that routes it.
"""

from __future__ import annotations

import httpx
import respx

__all__ = ["routed_elsewhere"]


def routed_elsewhere(ours: respx.MockRouter | None, request: httpx.Request) -> bool:
    """Whether another started respx router has a route whose pattern matches ``request``
    (patterns only: no side effect runs, no call is recorded)."""
    for router in respx.mocks.HTTPCoreMocker.routers:
        if router is ours:
            continue
        for route in router.routes:
            pattern = route.pattern
            if pattern is None or pattern.match(request):
                return True
    return False
