"""The app inside the ASGI middleware an app module wraps around it at import
(``app = SentryAsgiMiddleware(app)``, a proxy-headers wrapper): its routes, OpenAPI document and
``state`` are the inner app's, which the wrapper keeps as ``.app`` (asgiref's ``WsgiToAsgi``, as
``.wsgi_application``)."""

from __future__ import annotations

from typing import Any

__all__ = ["app_state", "innermost"]


def innermost(app: Any) -> Any:
    """``app``, or the app its middleware wraps, however deep: the first with a route table
    or a ``state`` of its own. An object with neither and no ``.app`` (nor
    ``.wsgi_application``) is itself."""
    seen = {id(app)}
    while not _framework_app(app):
        inner = getattr(app, "app", None)
        if inner is None:  # asgiref's WsgiToAsgi (a2wsgi's WSGIMiddleware keeps ``.app``)
            inner = getattr(app, "wsgi_application", None)
        if inner is None or id(inner) in seen or not callable(inner):
            return app
        seen.add(id(inner))
        app = inner
    return app


def app_state(app: Any) -> Any:
    """The ``state`` of ``app`` (Starlette's, FastAPI's), or of the app its middleware wraps;
    None when there is none."""
    return getattr(innermost(app), "state", None)


def _framework_app(app: Any) -> bool:
    url_map = getattr(app, "url_map", None)
    return (
        getattr(app, "routes", None) is not None
        or hasattr(app, "state")
        or callable(getattr(url_map, "iter_rules", None))
    )
