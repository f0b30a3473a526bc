"""What a production build shows unsafe by itself, whatever its variables: its framework's
debug mode on, or a CORS middleware that lets any origin make credentialed requests; whether a
variable of its env sets that, or the app's code does (no env can fix a value written there);
and which variables feed that middleware's origins (the audit tries them at any origin)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ._prod_variants import MODE_FLAGS, MODE_VARIABLES

__all__ = [
    "ANY_ORIGIN",
    "IN_CODE",
    "and_joined",
    "any_origin_in_code",
    "credentialed_any_origin",
    "debug_in_code",
    "origin_variables",
    "runs_in_debug",
    "unsafe_problems",
]


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
    for options in _cors_options(app):
        if options.get("allow_credentials") is not True:
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
    for options in _cors_options(app):
        allowed = options.get("allow_origins") or ()
        origins |= {str(origin).rstrip("/") for origin in allowed if origin != "*"}
    found = set()
    for name, value in env.items():
        if any("://" in item and item.rstrip("/") in origins for item in _items(value)):
            found.add(name)
    return found


def _items(value: str) -> list[str]:
    """The items of a variable's value: a JSON list, or comma- or space-separated."""
    return re.split(r"[\s,\[\]\"']+", value)


#: What a flag switched on is written as, in the values settings libraries read as true.
_ON = frozenset({"true", "1", "yes", "on"})


def _debug_setters(env: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """The variables of ``env`` that may put a build in debug mode: those named for debug set
    on (``DEBUG=true``), the mode variables set to another value than exactly
    ``production`` (an app that compares with ``production`` reads ``Production`` or
    ``prod`` as development), and the production switches set off."""
    on = [n for n, v in env.items() if "DEBUG" in n.upper() and v.strip().lower() in _ON]
    modes = [n for n in MODE_VARIABLES if env.get(n, "").strip() not in ("", "production")]
    flags = [n for n in MODE_FLAGS if env.get(n, "").strip() and env[n].lower() not in _ON]
    return on, modes + flags


def _any_origin_setters(app: Any, env: Mapping[str, str]) -> list[str]:
    """The variables of ``env`` that hold the any-origin value of the app's credentialed CORS
    middleware: ``*`` (alone or in a list), or its ``allow_origin_regex`` as written."""
    regexes = set()
    for options in _cors_options(app):
        regex = options.get("allow_origin_regex")
        if isinstance(regex, str):
            regexes.add(regex.strip())
    return [
        name
        for name, value in env.items()
        if "*" in _items(value) or (value.strip() and value.strip() in regexes)
    ]


#: How a problem no env can fix says so (what check-config's --audit runs beside).
IN_CODE = "This comes from the app's code, not its env"


def _in_code(holds: str, fix: str, env_name: str) -> str:
    """Why no env fixes it, when no variable of the build's env (``env_name``) ``holds`` it."""
    return (
        f"{IN_CODE}: no variable of {env_name} {holds}. A "
        f"value written in the source, which no env can change: fix the app {fix}; or the "
        f"default the app gives a variable {env_name} leaves unset: set that variable"
    )


def debug_in_code(env: Mapping[str, str], env_name: str = "the env") -> str | None:
    """Why no env fixes a build's debug mode, when no variable of ``env`` (called
    ``env_name``) may have switched it on (see :func:`_debug_setters`); None when one may."""
    if any(_debug_setters(env)):
        return None
    return _in_code(
        "switches debug on or names a mode other than production",
        "(debug=True where it makes the app or its settings)",
        env_name,
    )


def any_origin_in_code(app: Any, env: Mapping[str, str], env_name: str = "the env") -> str | None:
    """Why no env fixes a credentialed CORS middleware's any origin, when no variable of
    ``env`` (called ``env_name``) holds it; None when one does."""
    if _any_origin_setters(app, env):
        return None
    star = any("*" in (options.get("allow_origins") or ()) for options in _cors_options(app))
    held = "holds '*'" if star else "holds its allow_origin_regex"
    return _in_code(held, "where it adds the CORS middleware", env_name)


def _cors_options(app: Any) -> list[dict[str, Any]]:
    """The keyword arguments each CORS middleware of the app was added with (Starlette's
    ``kwargs``, older releases' ``options``)."""
    found = []
    for middleware in getattr(app, "user_middleware", None) or ():
        if getattr(getattr(middleware, "cls", None), "__name__", "") != "CORSMiddleware":
            continue
        options = getattr(middleware, "kwargs", None) or getattr(middleware, "options", None)
        if isinstance(options, dict):
            found.append(options)
    return found


def unsafe_problems(
    app: Any, env: Mapping[str, str], built_with: str, env_name: str = "the env"
) -> list[tuple[str, bool]]:
    """What makes the production build ``app`` (made from ``env``, called ``env_name``, and
    described as ``built_with``: "the known-good env") unsafe, every problem (debug mode,
    credentialed requests from any origin), each with whether it comes from the app's code
    (True: no variable of ``env`` sets it, and the message says no env can fix a value written
    there)."""
    problems = []
    if runs_in_debug(app):
        on, modes = _debug_setters(env)
        said = debug_in_code(env, env_name) or (
            f"{and_joined(on)} in {env_name} switches it on: switch it off there"
            if on
            else f"Have the app switch debug off under {env_name} (does {and_joined(modes)} hold "
            "exactly the value the app reads as production?)"
        )
        problems.append(
            (
                f"the production build with {built_with} runs in debug mode (its debug flag "
                f"is on): an error's traceback would reach the client. {said}",
                not (on or modes),
            )
        )
    if credentialed_any_origin(app):
        in_code = any_origin_in_code(app, env, env_name)
        said = (
            f". {in_code}"
            if in_code
            else f" ({and_joined(_any_origin_setters(app, env))} in {env_name} holds it)"
        )
        problems.append(
            (
                f"the production build with {built_with} lets any origin make credentialed "
                f"requests: {ANY_ORIGIN}{said}",
                in_code is not None,
            )
        )
    return problems


def and_joined(names: list[str]) -> str:
    """``A``, ``A and B``, ``A, B and C``."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
