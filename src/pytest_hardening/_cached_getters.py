"""Cached settings getters (``@functools.lru_cache def get_settings()``, the pattern FastAPI's
documentation teaches) follow the environment of each build.

The harness, ``prod_config`` and ``route_audit`` build an app under one environment after
another. A getter cached during the first build would hand every later build the first one's
settings: a production build would run with the development settings, and a variable it must
refuse would look accepted, the app blamed for it. So the settings getters of the factory's
package are cleared before each build and again once the environment is put back, and the next
caller reads the environment it runs in.

Only settings: a cached getter of anything else (a database engine, a loaded model, a client)
is kept, as the app's own code would keep it. A settings object is a pydantic(-settings)
``BaseSettings``, or an instance of a class whose name ends in ``Settings``, ``Config`` or
``Configuration``.
"""

from __future__ import annotations

import functools
import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["CachedGetters", "is_settings"]

_CACHED = functools._lru_cache_wrapper
_SETTINGS_NAMES = ("Settings", "Config", "Configuration")


def is_settings(value: Any) -> bool:
    """Whether ``value`` is a settings object (see the module's docstring)."""
    cls = type(value)
    if any(
        base.__name__ == "BaseSettings" and base.__module__.startswith("pydantic")
        for base in cls.__mro__
    ):
        return True
    return cls.__name__.endswith(_SETTINGS_NAMES)


class CachedGetters:
    """The ``functools.lru_cache``/``functools.cache`` functions without parameters that the
    modules of ``factory``'s top-level package define. Found on the first :meth:`clear`, and
    again when modules were imported since."""

    def __init__(self, factory: Callable[..., Any]) -> None:
        # app_from_import's factory names the app's packages; another, the one it is defined in.
        named = getattr(factory, "app_packages", None)
        package = _package_of(factory)
        self._packages: set[str] = (
            set(named) if isinstance(named, frozenset) else {package} if package else set()
        )
        self._modules = -1  # len(sys.modules) at the last search
        self._found: list[Any] = []

    def learn(self, app: Any) -> None:
        """Search the packages of ``app``'s own routes too: a factory that hands over an app
        built at import (defined in ``conftest.py``) names none of the app's packages. Their
        getters are cleared now: one a plain test filled before, under its own environment,
        would hand the app that test's settings at its first request."""
        known = len(self._packages)
        self._packages |= _packages_of_routes(app)
        if len(self._packages) != known:
            self._modules = -1  # search again
            self.clear()

    def clear(self) -> None:
        """Clear each getter whose cached value is a settings object."""
        if not self._packages:
            return
        if len(sys.modules) != self._modules:
            self._modules = len(sys.modules)
            packages = self._packages | _flat_siblings(self._packages)
            self._found = [g for package in sorted(packages) for g in _search(package)]
        for getter in self._found:
            # Without parameters, a filled cache holds the one value: calling returns it.
            if getter.cache_info().currsize and is_settings(getter()):
                getter.cache_clear()

    @property
    def found(self) -> list[Any]:
        """What the last search found."""
        return list(self._found)


def _package_of(factory: Callable[..., Any]) -> str | None:
    target = getattr(factory, "func", factory)  # functools.partial
    module = getattr(target, "__module__", None)
    return module.partition(".")[0] if isinstance(module, str) else None


#: Packages whose routes are not the app's own (documentation, static files ...).
_FRAMEWORKS = frozenset({"fastapi", "starlette", "pytest_hardening"})


def _packages_of_routes(app: Any) -> set[str]:
    """The top-level packages of the endpoints of ``app``'s routes (Starlette's, FastAPI's),
    mounted apps' included, but the frameworks' and the standard library's."""
    found: set[str] = set()
    pending, seen = [app], set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        routes = list(getattr(current, "routes", None) or ())
        while routes:
            route = routes.pop()
            # FastAPI >= 0.16x includes routers lazily (_IncludedRouter, no endpoint of its
            # own): its effective routes carry the endpoints.
            expand = getattr(route, "effective_route_contexts", None)
            if callable(expand):
                routes.extend(expand())
                continue
            endpoint = getattr(route, "endpoint", None)
            module = getattr(endpoint, "__module__", None)
            if isinstance(module, str):
                top = module.partition(".")[0]
                if top not in _FRAMEWORKS and top not in sys.stdlib_module_names:
                    found.add(top)
            mounted = getattr(route, "app", None)
            if mounted is not None and getattr(mounted, "routes", None):
                pending.append(mounted)
    return found


def _flat_siblings(packages: set[str]) -> set[str]:
    """The top-level modules beside any of ``packages`` that is a plain module: a flat layout
    (``main.py`` beside ``config.py``, no package) keeps its settings getter next door."""
    folders = set()
    for name in packages:
        module = sys.modules.get(name)
        path = getattr(module, "__file__", None)
        if module is not None and not hasattr(module, "__path__") and isinstance(path, str):
            folders.add(os.path.dirname(os.path.abspath(path)))
    if not folders:
        return set()
    found = set()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if "." in name or hasattr(module, "__path__") or not isinstance(path, str):
            continue
        if os.path.dirname(os.path.abspath(path)) in folders:
            found.add(name)
    return found


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
            if (defined == package or defined.startswith(prefix)) and _no_parameters(value):
                found[id(value)] = value
    return list(found.values())


def _no_parameters(getter: Any) -> bool:
    try:
        return not inspect.signature(getter.__wrapped__).parameters
    except (AttributeError, TypeError, ValueError):
        return False
