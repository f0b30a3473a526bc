"""Cached zero-argument getters (``@functools.lru_cache def get_settings()``, the pattern FastAPI's
documentation teaches) follow the environment of each build.

The harness, ``prod_config`` and ``route_audit`` build an app under one environment after
another. A getter cached during the first build would hand every later build the first one's
settings: a production build would run with the development settings, and a variable it must
refuse would look accepted, the app blamed for it. So the getters of the factory's package are
cleared before each build and again once the environment is put back, and the next caller reads
the environment it runs in.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["CachedGetters"]

_CACHED = functools._lru_cache_wrapper


class CachedGetters:
    """The ``functools.lru_cache``/``functools.cache`` functions taking no argument that the
    modules of ``factory``'s top-level package define. Found on the first :meth:`clear`, and
    again when modules were imported since."""

    def __init__(self, factory: Callable[..., Any]) -> None:
        self._package = _package_of(factory)
        self._modules = -1  # len(sys.modules) at the last search
        self._found: list[Any] = []

    def clear(self) -> None:
        if self._package is None:
            return
        if len(sys.modules) != self._modules:
            self._modules = len(sys.modules)
            self._found = _search(self._package)
        for getter in self._found:
            getter.cache_clear()

    @property
    def found(self) -> list[Any]:
        """What the last search found."""
        return list(self._found)


def _package_of(factory: Callable[..., Any]) -> str | None:
    target = getattr(factory, "func", factory)  # functools.partial
    module = getattr(target, "__module__", None)
    return module.partition(".")[0] if isinstance(module, str) else None


def _search(package: str) -> list[Any]:
    prefix = package + "."
    found: dict[int, Any] = {}
    for name, module in list(sys.modules.items()):
        if name != package and not name.startswith(prefix):
            continue
        for value in list(vars(module).values()):
            if type(value) is not _CACHED or id(value) in found:
                continue
            # Defined in the package: a library's getter imported into it is left alone.
            defined = str(getattr(value, "__module__", ""))
            if (defined == package or defined.startswith(prefix)) and _takes_nothing(value):
                found[id(value)] = value
    return list(found.values())


def _takes_nothing(getter: Any) -> bool:
    try:
        parameters = inspect.signature(getter.__wrapped__).parameters.values()
    except (AttributeError, TypeError, ValueError):
        return False
    return all(
        p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters
    )
