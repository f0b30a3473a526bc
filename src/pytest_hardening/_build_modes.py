"""What a build made inside a block is: a production build, or one whose modules imported
aside are collected (for :func:`~._fresh_import.app_from_import`, however deep its factory is
called)."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Callable, Iterator
from types import ModuleType

__all__ = [
    "aside_collector",
    "aside_modules",
    "factory_call",
    "is_production_build",
    "production_build",
    "put_back_when_returned",
]

#: True while a production build runs (the fixtures' production checks): never the home build.
_PRODUCTION: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "pytest_hardening_production_build", default=False
)


@contextlib.contextmanager
def production_build() -> Iterator[None]:
    """Builds inside are production builds: :func:`app_from_import` imports them aside even
    when nothing imported the module yet, so that the tests' own ``import main`` never gets
    the production-built modules, whichever test runs first. The process's logging is left
    as the block found it (see :mod:`._logging_scope`)."""
    from ._logging_scope import logging_left_as_found

    token = _PRODUCTION.set(True)
    try:
        with logging_left_as_found():
            yield
    finally:
        _PRODUCTION.reset(token)


#: While set (:func:`aside_modules`), the modules of every app built from a copy imported
#: aside are added to it: a factory of the project's own that calls an app_from_import
#: factory hides that factory's ``modules_of`` from the harness, not its builds.
_ASIDE: contextvars.ContextVar[dict[str, ModuleType] | None] = contextvars.ContextVar(
    "pytest_hardening_aside_modules", default=None
)


@contextlib.contextmanager
def aside_modules() -> Iterator[dict[str, ModuleType]]:
    """The modules of the copies imported aside for the apps built inside, however deep the
    app_from_import factory is called (a factory that calls it, then prepares)."""
    found: dict[str, ModuleType] = {}
    token = _ASIDE.set(found)
    try:
        yield found
    finally:
        _ASIDE.reset(token)


def is_production_build() -> bool:
    """Whether a build made now is a production build (inside :func:`production_build`)."""
    return _PRODUCTION.get()


def aside_collector() -> dict[str, ModuleType] | None:
    """Where the modules of a copy imported aside now go (inside :func:`aside_modules`)."""
    return _ASIDE.get()


#: The put-backs of the production copies imported aside while the user's factory runs.
_RETURNED: contextvars.ContextVar[contextlib.ExitStack | None] = contextvars.ContextVar(
    "pytest_hardening_factory_call", default=None
)


@contextlib.contextmanager
def factory_call() -> Iterator[None]:
    """Around a call of the user's factory: a production copy imported aside inside stays in
    ``sys.modules`` until the factory returns (see :func:`put_back_when_returned`)."""
    with contextlib.ExitStack() as stack:  # last in, first put back; each one whatever fails
        token = _RETURNED.set(stack)
        try:
            yield
        finally:
            _RETURNED.reset(token)


def put_back_when_returned(put_back: Callable[[], None]) -> bool:
    """Defer ``put_back`` (the tests' modules back in ``sys.modules``) to the return of the
    factory being called, when this is a production build: a factory that prepares the app
    after building it (``import app.config`` after ``THE_APP()``) then imports the production
    copy's modules, under the production environment still, and nothing it imports stays in
    the tests' ``sys.modules``. False (put back now) outside a factory's call."""
    stack = _RETURNED.get()
    if stack is None or not is_production_build():
        return False
    stack.callback(put_back)
    return True
