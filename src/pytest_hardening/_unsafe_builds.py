"""What a production build shows unsafe by itself, whatever its variables: its framework's
debug mode on, or a CORS middleware that lets any origin make credentialed requests; and which
variables feed that middleware's origins (the audit tries them at any origin)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

__all__ = ["ANY_ORIGIN", "credentialed_any_origin", "origin_variables", "runs_in_debug"]


def runs_in_debug(app: Any) -> bool:
    """The app's framework debug flag (Starlette, FastAPI, Litestar, Quart, Flask) is on: its
    error pages send the traceback, settings and source lines to the client."""
    return getattr(app, "debug", None) is True


#: What to do about :func:`credentialed_any_origin`.
ANY_ORIGIN = (
    "its CORSMiddleware has allow_origins=['*'] (or a regex matching any) with "
    "allow_credentials=True, and Starlette then answers each origin with itself, so any site "
    "reads the answers to requests its visitors' cookies authenticate. List the production "
    "origins (from a setting), or drop allow_credentials"
)


def credentialed_any_origin(app: Any) -> bool:
    """The app's CORS middleware (Starlette's, as FastAPI adds it) lets any origin make
    credentialed requests: ``allow_origins=["*"]`` (or a regex matching all) with
    ``allow_credentials=True``, where Starlette answers each origin with itself, so any site
    reads the answers to requests made with its users' cookies."""
    for middleware in getattr(app, "user_middleware", None) or ():
        cls = getattr(middleware, "cls", None)
        if getattr(cls, "__name__", "") != "CORSMiddleware":
            continue
        options = getattr(middleware, "kwargs", None) or getattr(middleware, "options", None)
        if not isinstance(options, dict) or options.get("allow_credentials") is not True:
            continue
        origins = options.get("allow_origins") or ()
        if "*" in origins or _lets_strangers_in(options.get("allow_origin_regex")):
            return True
    return False


#: Origins of sites no app trusts: a regex that lets one in lets any site in (``https://.*``,
#: ``.*?``, ``(.*)``), however it is written.
_STRANGERS = ("https://evil.example", "http://attacker.test", "https://a.evil.example:8443")


def _lets_strangers_in(regex: Any) -> bool:
    """Whether ``allow_origin_regex`` matches an unrelated site's origin, as Starlette matches
    it (the whole origin). A regex that does not compile lets nothing in (the app's stack then
    fails to build, which the check reports as a refusal)."""
    if not isinstance(regex, str) or not regex:
        return False
    try:
        compiled = re.compile(regex)
    except re.error:
        return False
    return any(compiled.fullmatch(origin) for origin in _STRANGERS)


def origin_variables(app: Any, env: Mapping[str, str]) -> set[str]:
    """The variables of ``env`` whose value (or an item of its list) is one of the origins the
    app's CORS middleware lets in: a ``FRONTEND_HOST`` the app adds to ``allow_origins`` is as
    much a CORS setting as ``BACKEND_CORS_ORIGINS``, whatever its name."""
    origins: set[str] = set()
    for middleware in getattr(app, "user_middleware", None) or ():
        if getattr(getattr(middleware, "cls", None), "__name__", "") != "CORSMiddleware":
            continue
        options = getattr(middleware, "kwargs", None) or getattr(middleware, "options", None)
        if isinstance(options, dict):
            allowed = options.get("allow_origins") or ()
            origins |= {str(origin).rstrip("/") for origin in allowed if origin != "*"}
    found = set()
    for name, value in env.items():
        items = re.split(r"[\s,\[\]\"']+", value)  # a JSON list, or comma-separated
        if any("://" in item and item.rstrip("/") in origins for item in items):
            found.add(name)
    return found
