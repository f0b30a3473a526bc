"""WSGI apps (Flask, Django's ``application``, Bottle, Pyramid): recognised, so that what
drives an app over ASGI refuses one at once with the cure (an ASGI wrapper), instead of
answering every request 500 with ``Flask.__call__() takes 3 positional arguments``, and so
that what only builds an app (``check-config``) says it has no startup to run."""

from __future__ import annotations

import inspect
from collections.abc import Iterable
from typing import Any

from ._wrapped import innermost

__all__ = ["WRAP_IT", "is_wsgi_app", "refuse_wsgi_app", "required_positional", "serves_wsgi"]

#: How to hand a WSGI app to the plugin (the docs page says more).
WRAP_IT = (
    "the harness drives ASGI apps; wrap it: return `a2wsgi.WSGIMiddleware(app)` (or asgiref's "
    "`asgiref.wsgi.WsgiToAsgi(app)`) from the factory (docs/getting-started.md, "
    '"A Flask or other WSGI app")'
)


def is_wsgi_app(candidate: Any) -> bool:
    """Whether ``candidate`` is a WSGI application: a Flask app (``wsgi_app`` and
    ``url_map``), or any synchronous callable whose call takes ``(environ, start_response)``
    (Django's ``WSGIHandler``, a plain WSGI function). No ASGI app is one: its call takes three
    arguments (or, for ASGI 2, one), and is a coroutine function for every framework."""
    if isinstance(candidate, type) or not callable(candidate):
        return False
    if callable(getattr(candidate, "wsgi_app", None)) and hasattr(candidate, "url_map"):
        return True  # Flask (Quart, its ASGI twin, has no wsgi_app)
    call = candidate if inspect.isroutine(candidate) else candidate.__call__
    if inspect.iscoroutinefunction(call):
        return False
    try:
        parameters = list(inspect.signature(call).parameters.values())
    except (TypeError, ValueError):
        return False
    return required_positional(parameters) == 2


def required_positional(parameters: Iterable[inspect.Parameter]) -> int:
    """How many positional arguments a call taking ``parameters`` cannot do without: an ASGI
    app's three, a WSGI app's two."""
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in parameters if p.default is p.empty and p.kind in positional)


def serves_wsgi(app: Any) -> bool:
    """Whether ``app`` is a WSGI app, or an ASGI wrapper around one (a2wsgi's, asgiref's,
    however deep): either way there is no lifespan, so no startup to run."""
    return is_wsgi_app(app) or is_wsgi_app(innermost(app))


def refuse_wsgi_app(app: Any, what: str) -> None:
    """Raise a TypeError that says how to wrap ``app`` when it is a WSGI app (``what``: where
    it came from, e.g. "the app factory create_app returned")."""
    if is_wsgi_app(app):
        kind = f"{type(app).__module__}.{type(app).__qualname__}"
        raise TypeError(
            f"{what} a WSGI app ({kind}: Flask, Django and the like take (environ, "
            f"start_response)), not an ASGI app: {WRAP_IT}. Unwrapped, every request would "
            "answer 500."
        )
