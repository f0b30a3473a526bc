"""Building an ASGI app under an environment: its factory called (and refused when it is not
one), its cached settings getters cleared around it.

Running the built app's lifespan is ``_lifespan``'s.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import warnings
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ._build_modes import factory_call
from ._cached_getters import CachedGetters
from ._config import AppFactory, NotConfigured
from ._env import EnvPatch
from ._last_words import LastWords, exit_said
from ._wsgi import WRAP_IT, is_wsgi_app, required_positional

__all__ = [
    "app_env",
    "build_app",
    "call_factory",
    "starlette_test_client",
]


def build_app(
    factory: AppFactory,
    env: Mapping[str, str],
    *,
    clear: Iterable[str] = (),
    getters: CachedGetters | None = None,
    left: dict[str, str] | None = None,
) -> Any:
    """Call ``factory()`` with exactly ``env`` set (names in ``clear`` removed first); ``left``
    receives the environment the factory left (``load_dotenv(override=True)`` in it), which a
    server process's startup then runs in."""
    if isinstance(env, NotConfigured):
        env.require()
    getters = getters if getters is not None else CachedGetters(factory)
    with app_env(factory, env, clear=clear, getters=getters):
        app = call_factory(factory)
        getters.learn(app)  # cleared again on the way out, the app's own packages included
        if left is not None:
            left.update(os.environ)
        return app


def call_factory(factory: AppFactory) -> Any:
    """``factory()``, refusing what is not an app: an ``async def`` factory gives a coroutine,
    which would only fail at the first request, as a 500."""
    if isinstance(factory, str):
        raise TypeError(
            f"the app factory is the text {factory!r}, not a function that builds the app: "
            "the hardening_app_factory ini option takes a 'module:attribute' text; the fixture "
            f"returns the factory itself, or app_from_import({factory!r}), which imports it "
            "under each test's environment (docs/getting-started.md)"
        )
    if _is_asgi_app(factory):
        raise TypeError(
            f"the app factory is an ASGI app ({type(factory).__name__}), not a function that "
            "builds one: name the factory (e.g. 'main:create_app', as uvicorn's --factory "
            "takes), so that each test, and each production check, builds the app under its "
            "own environment. For an app built at import, return "
            "app_from_import('main:app') from the hardening_app_factory fixture: it imports "
            "the module again for each environment (docs/getting-started.md)."
        )
    if is_wsgi_app(factory):
        raise TypeError(
            f"the app factory is a WSGI app ({type(factory).__name__}: Flask, Django), not a "
            "function that builds an app, and the plugin drives ASGI apps: return a function "
            f"that builds it and wraps it ({WRAP_IT})."
        )
    try:
        with factory_call(), LastWords() as words:  # a copy's modules stay until it returns
            app = factory()
    except SystemExit as exited:  # a refused configuration, reported as the process's end
        raise AppExited(exited.code, words.said) from None
    if inspect.isawaitable(app):
        if inspect.iscoroutine(app):
            app.close()  # never awaited: no RuntimeWarning at collection
        name = getattr(factory, "__qualname__", repr(factory))
        raise TypeError(
            f"the app factory {name} returned an awaitable, not an app: it is an async "
            "function. The harness builds apps synchronously; do the async set-up in the "
            "app's lifespan (it runs in the event loop that serves the requests), or pass a "
            "synchronous factory that returns the app."
        )
    return app


@contextlib.contextmanager
def app_env(
    factory: AppFactory,
    env: Mapping[str, str],
    *,
    clear: Iterable[str] = (),
    getters: CachedGetters | None = None,
) -> Iterator[None]:
    """Exactly ``env`` for the block, and the cached settings getters of ``factory``'s package
    cleared on the way in and out, so that the app reads the environment it runs in
    (``getters``: kept across blocks, to search the package once)."""
    getters = getters if getters is not None else CachedGetters(factory)
    try:
        with EnvPatch(env, clear=clear):
            getters.clear()
            yield
    finally:
        getters.clear()


def app_of(target: Any) -> tuple[Any, bool]:
    """The app ``target`` names, and whether it was built here: an ASGI app made at import is
    itself (a WSGI app too, for its user to be told how to wrap it), a factory is called
    (:func:`call_factory`), as uvicorn takes either."""
    if callable(target) and not _is_asgi_app(target) and not is_wsgi_app(target):
        return call_factory(target), True
    return target, False


class AppExited(RuntimeError):
    """The app called ``sys.exit()`` while it was built (how some apps refuse a setting): a
    check reports it as a refusal instead of ending its own process, with status 0 for a bare
    ``sys.exit()``."""

    def __init__(self, code: object, said: str = "") -> None:
        self.code = code
        super().__init__(exit_said(code, "while it was built", said))


def _is_asgi_app(candidate: Any) -> bool:
    """An ASGI application (``app = FastAPI()``, or a raw ``async def app(scope, receive,
    send)``) rather than a factory: its call takes (scope, receive, send)."""
    if isinstance(candidate, type) or not callable(candidate):
        return False
    routine = inspect.isfunction(candidate) or inspect.ismethod(candidate)
    if routine and not inspect.iscoroutinefunction(candidate):
        return False  # a factory: app factories are plain functions
    try:
        parameters = list(inspect.signature(candidate).parameters.values())
    except (TypeError, ValueError):
        try:  # a __call__ set per instance (SentryAsgiMiddleware's slot): its bound method's
            parameters = list(inspect.signature(candidate.__call__).parameters.values())
        except (TypeError, ValueError):
            return False
    return required_positional(parameters) == 3


def starlette_test_client() -> Any:
    """``starlette.testclient.TestClient``, imported without its httpx-vs-httpx2 notice (the
    plugin drives it; the notice is not the user's to act on)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
        from starlette.testclient import TestClient
    return TestClient
