"""RegistryScope: an app built again takes its metric names back in prometheus_client's default
registry from the earlier build of it.

Apps and their instrumentations register collectors while they are built or first called
(prometheus-fastapi-instrumentator in its middleware, a factory's own ``Counter(...)``). The
default registry outlives the app: the next build of the same app meets its own names as
duplicates, and either fails (``Duplicated timeseries in CollectorRegistry``) or, as the
instrumentator does, silently records nothing. While a harness builds and runs an app, a
registration that clashes only with collectors an *other* app registered under an earlier
harness replaces them (that app is gone: a build per test). The same app object built once at
import and run by many harnesses keeps its collectors; a clash within one app, or with a
collector registered outside any harness (at import), raises as it always did.
"""

from __future__ import annotations

import contextlib
import sys
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["RegistryScope"]

#: The collector attribute naming the app (a weak reference) whose harness registered it.
_OWNER = "_pytest_hardening_app"


class RegistryScope:
    """While started, registrations in ``prometheus_client.REGISTRY`` are noted as the app's
    (:meth:`own`), and may replace an earlier app's collectors of the same names. The registry
    is never imported here: an app without prometheus_client has nothing to scope."""

    def __init__(self) -> None:
        self._registry: Any = None
        self._owner: Callable[[], Any] | None = None
        self._noted: list[Any] = []

    def start(self) -> RegistryScope:
        registry: Any = getattr(sys.modules.get("prometheus_client"), "REGISTRY", None)
        register = getattr(registry, "register", None)
        # Absent, or noted already by an enclosing scope: nothing to do here.
        if not callable(register) or "register" in vars(registry):
            return self

        def noting(collector: Any) -> None:
            try:
                register(collector)
            except ValueError as error:
                stale = self._stale(registry, getattr(error, "duplicates", None))
                if not stale:
                    raise
                for earlier in stale:
                    registry.unregister(earlier)
                register(collector)
            self._noted.append(collector)
            self._mark(collector)

        registry.register = noting
        self._registry = registry
        return self

    def own(self, app: Any) -> None:
        """``app`` registered what was noted so far, and registers what comes (until stop)."""
        try:
            self._owner = weakref.ref(app)
        except TypeError:  # not weakly referable: held for the scope's life only
            self._owner = lambda: app
        for collector in self._noted:
            self._mark(collector)

    def stop(self) -> None:
        registry, self._registry = self._registry, None
        self._noted = []
        if registry is not None:
            del registry.register  # the instance attribute: the class's method again

    def _mark(self, collector: Any) -> None:
        if self._owner is not None:
            with contextlib.suppress(AttributeError):  # __slots__: never replaced
                setattr(collector, _OWNER, self._owner)

    def _stale(self, registry: Any, names: Any) -> list[Any]:
        """The collectors holding ``names`` if every one of them was registered under an
        earlier harness by an app other than this one (else none: the clash is real)."""
        by_name: dict[str, Any] = getattr(registry, "_names_to_collectors", {})
        if not names or not by_name:
            return []
        clashing = {id(c): c for c in (by_name.get(name) for name in names) if c is not None}
        current = self._owner() if self._owner is not None else None
        for collector in clashing.values():
            owner = getattr(collector, _OWNER, None)
            if owner is None or any(collector is noted for noted in self._noted):
                return []  # registered outside any harness, or by this build itself
            earlier = owner()
            if earlier is not None and earlier is current:
                return []  # the same app registering a name twice
        return list(clashing.values())
