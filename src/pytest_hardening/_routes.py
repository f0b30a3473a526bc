"""RouteAuditor: which routes exist only in development, and proof they are gone in production."""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from types import ModuleType
from typing import Any

import anyio.from_thread
import httpx

from ._build_modes import aside_modules
from ._network import NetworkGuard
from ._prometheus_scope import metrics_run_by
from ._route_table import Route, route_table, routes_understood
from ._sentry_guard import SentryGuard
from ._wrapped import innermost
from ._wsgi import refuse_wsgi_app

__all__ = ["RouteAuditor"]


def _under(path: str, prefix: str) -> bool:
    # "/" is the root page itself: as a prefix it would take in every route of the app.
    prefix = prefix.rstrip("/") or "/"
    return path == prefix or (prefix != "/" and path.startswith(prefix + "/"))


def _concrete(path: str) -> str:
    """A requestable path for a template such as ``/items/{item_id:int}``."""
    return re.sub(r"\{[^}]+\}", "1", path)


class RouteAuditor:
    """Compare the route tables of a development and a production build of the same app.

    Each build and each probe request runs under a :class:`SentryGuard`: a Sentry client the
    app initialises is closed and the caller's global client and scopes are put back, so an
    audit never leaves a client (or its DSN) active behind it. ``prod_env``, when given, is
    entered around each probe request (e.g. the production environment, for an app that reads
    its settings per request).

    What the production build registers in prometheus_client's default registry while it starts
    or answers a probe (prometheus-fastapi-instrumentator, in its middleware) is taken out
    after, as what it registered while built is (:func:`~._prometheus_scope.metrics_run_by`):
    the development build's import, after it, registers the same names.

    A probe runs the app's real handler, which may call its providers with production
    settings: each build and probe also runs under ``network`` (default: a
    :class:`~._network.NetworkGuard`, which refuses every connection off this machine and
    records it in :meth:`problems_report`; the ``route_audit`` fixture answers the registered
    providers in memory instead).
    """

    def __init__(
        self,
        build_dev: Callable[[], Any],
        build_prod: Callable[[], Any],
        *,
        prod_env: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext,
        network: Callable[[], AbstractContextManager[Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        on_finding: Callable[[str], None] | None = None,
    ) -> None:
        self._headers = dict(headers or {})
        self._on_finding = on_finding  # told each route found in production (a report's)
        self._build_dev = build_dev
        self._build_prod = build_prod
        self._prod_env = prod_env
        self._network = network if network is not None else self._guard
        self._guards: list[NetworkGuard] = []
        self._dev: Any = None
        self._prod: Any = None
        self._prod_routes: set[Route] | None = None
        self._prod_modules: dict[str, ModuleType] = {}  # a copy imported aside: its modules
        #: Why the production startup :meth:`prod_routes` ran stopped early (None: it did not):
        #: routes it would have added after that point are not in the table.
        self.startup_stopped: str | None = None

    def _guard(self) -> NetworkGuard:
        guard = NetworkGuard()
        self._guards.append(guard)
        return guard

    def problems_report(self) -> str | None:
        """The connections off this machine that the default guard refused, or ``None``."""
        reports = [r for r in (g.report() for g in self._guards) if r]
        return "\n".join(reports) if reports else None

    @property
    def dev_app(self) -> Any:
        if self._dev is None:
            with SentryGuard(), self._network():
                self._dev = self._build_dev()
        return self._dev

    @property
    def prod_app(self) -> Any:
        """The production build; the connections off this machine that its import and factory
        try (a cache pinged at import, production's own host) are refused by a guard of its
        own: the audit's doing, not the test's, as its startup's are."""
        if self._prod is None:
            with SentryGuard(), self._network(), NetworkGuard(), aside_modules() as aside:
                self._prod = self._build_prod()
            self._prod_modules = dict(aside)
        return self._prod

    @contextlib.contextmanager
    def _as_built(self) -> Iterator[None]:
        """The production build's own modules in ``sys.modules`` for the block, when it was
        imported aside: code that resolves names through ``sys.modules`` while it serves
        (pydantic's deferred forward references, when the OpenAPI document is first made)
        finds the copy's classes, not the development build's, nor none."""
        modules = self._prod_modules
        saved = {name: sys.modules.get(name) for name in modules}
        sys.modules.update(modules)
        try:
            yield
        finally:
            for name, module in saved.items():
                if module is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = module

    def prod_routes(self) -> set[Route]:
        """The production build's routes, those its startup adds too (an app that includes its
        routers in its lifespan, as a server runs it): the lifespan runs once, under the
        production environment and a network guard of its own (the connections it tries are
        the audit's doing, not the test's: never reported as the test's), then stops. A startup
        that fails (a database the test lacks) leaves the routes as built, and
        :attr:`startup_stopped` says why."""
        if self._prod_routes is None:
            from ._lifespan import running_lifespan

            app = self.prod_app
            table = route_table(app)
            try:
                with (
                    self._prod_env(),
                    SentryGuard(),
                    NetworkGuard(),
                    metrics_run_by(app),
                    running_lifespan(app),
                ):
                    table |= route_table(app)
            except Exception as error:  # a startup that needs what the test lacks
                self.startup_stopped = f"{type(error).__name__}: {error}".splitlines()[0]
            self._prod_routes = table
        return self._prod_routes

    def dev_only(self) -> set[Route]:
        """Routes present in development and absent in production."""
        app = self.dev_app
        if not routes_understood(app):
            raise TypeError(
                f"no route table understood for a {type(app).__module__}.{type(app).__name__} "
                "app: route_table reads `app.routes` (Starlette, FastAPI, Litestar) and "
                "Quart/Flask `app.url_map`. Name its development routes yourself and check "
                "each with assert_absent_in_production(path), which also requests it."
            )
        return route_table(app) - self.prod_routes()

    def assert_absent_in_production(self, path_or_prefix: str) -> None:
        """Fail unless no production route, no OpenAPI path and no real request (404) is
        found at ``path_or_prefix`` (a path or a prefix of paths; ``"/"`` is the root page
        only). A 405 to a development route's own method also proves it absent (the path
        matched only other routes). Redirects are not followed: a probe reports the route's
        own status."""
        __tracebackhide__ = True
        problems: list[str] = []
        prod_routes, dev_routes = self.prod_routes(), route_table(self.dev_app)
        routes = sorted(r for r in prod_routes if _under(r[1], path_or_prefix))
        if routes:
            problems.append("route table has " + ", ".join(f"{m} {p}" for m, p in routes))
        spec_paths = sorted(p for p in self._openapi_paths() if _under(p, path_or_prefix))
        if spec_paths:
            problems.append(f"OpenAPI document lists {', '.join(spec_paths)}")
        registered = len(problems)
        probes = {("GET", path_or_prefix)} | {
            (m, p) for m, p in dev_routes if _under(p, path_or_prefix)
        }
        unproven = 0
        for declared, path in sorted(probes):
            method = "GET" if declared in ("ANY", "WEBSOCKET") else declared
            status = self._request(method, _concrete(path))
            if status == 405 and declared == method and (method, path) in dev_routes:
                # Routing found the path (another route, e.g. a catch-all, matches it) but no
                # handler for the dev route's own method there: that route is gone. Not for
                # ANY routes: an endpoint class answers 405 itself to methods it lacks.
                continue
            if status in (400, 421) and not routes:
                # Refused before routing (a Host not allowed), which says nothing of the route;
                # where a production route is declared, the 400 is its own answer.
                unproven += 1
                problems.append(
                    f"{method} {_concrete(path)} answered {status} before any route was chosen "
                    "(a Host the production app does not allow? the probes send "
                    "hardening_probe_headers: give it the Host), so its absence is unproven"
                )
            elif status in (401, 403) and not routes:
                # No production route there: a middleware that checks every request's
                # credential answered before routing, which says nothing of the route.
                unproven += 1
                problems.append(
                    f"{method} {_concrete(path)} answered {status} and no production route is "
                    "declared there: an authentication middleware answers before any route is "
                    "chosen, so its absence is unproven; give the probes a credential the "
                    "production build accepts (the hardening_probe_headers fixture)"
                )
            elif status != 404:
                problems.append(
                    f"{method} {_concrete(path)} answered {status}, expected 404"
                    + _why_not_404(status, declared=bool(routes))
                )
        if problems:
            # Registered but answering 404 (a check at request time): one setting away from
            # reachable, and listed to whoever reads the route table or the API document.
            if len(problems) > registered + unproven:
                state = "reachable"
            elif unproven:
                state = "not proven absent"
            else:
                state = "registered (every request answered 404)"
            if self._on_finding is not None:
                self._on_finding(f"{path_or_prefix!r} is still {state} in production")
            raise AssertionError(
                f"{path_or_prefix!r} is still {state} in production:\n  "
                + "\n  ".join(problems)
                + "\nregister these routes only when the app runs in development mode"
            )

    def _openapi_paths(self) -> list[str]:
        app = innermost(self.prod_app)
        openapi = getattr(app, "openapi", None)
        if not callable(openapi) or getattr(app, "openapi_url", "") is None:
            return []  # no document, or one the app never serves (openapi_url=None)
        with self._as_built():
            document = openapi() or {}
        return list((document.get("paths") or {}).keys())

    def _request(self, method: str, path: str) -> int:
        # No lifespan: routing decides a 404 before any resource is needed, and a production
        # build must not reach real databases from a test. Redirects are not followed: the
        # route's own answer, not the public page it sends to. A WSGI app would answer every
        # probe 500 (its call takes two arguments): "still reachable" for routes it lacks.
        refuse_wsgi_app(self.prod_app, "the production build is")
        with (
            self._prod_env(),
            SentryGuard(),
            self._network(),
            self._as_built(),
            metrics_run_by(self.prod_app),
            anyio.from_thread.start_blocking_portal() as portal,
        ):
            status: int = portal.call(_probe, self.prod_app, method, path, self._headers)
        return status


def _why_not_404(status: int, *, declared: bool) -> str:
    """What an answer other than 404 may mean, when it is not plain."""
    notes = []
    if not declared:
        notes.append("no production route is declared there: a catch-all or a mounted app took it")
    if status >= 500:
        notes.append(
            "the handler failed; the probes run no lifespan, so one that needs what the app's "
            "startup makes fails where production might answer"
        )
    return f" ({'; '.join(notes)})" if notes else ""


async def _probe(app: Any, method: str, path: str, headers: Mapping[str, str]) -> int:
    """One request to ``app`` over httpx's ASGI transport (any ASGI app; no lifespan). An app
    that sends plain HTTP to https (``HTTPSRedirectMiddleware``) is asked again over https:
    the route's answer is there, not in the redirect every path gets."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://testserver", headers=dict(headers)
    ) as client:
        response = await client.request(method, path, follow_redirects=False)
        secure = response.request.url.copy_with(scheme="https")
        if response.is_redirect and _same_url(response.headers.get("location", ""), secure):
            response = await client.request(method, secure, follow_redirects=False)
    return response.status_code


def _same_url(location: str, url: httpx.URL) -> bool:
    try:
        target = url.join(location)
    except httpx.InvalidURL:
        return False
    return (target.scheme, target.host, target.port, target.raw_path) == (
        url.scheme,
        url.host,
        url.port,
        url.raw_path,
    )
