"""RegistryScope: the metrics an app registers in prometheus_client's default registry, taken
out again when the app is torn down.

Apps and their instrumentations register collectors while they are built or first called
(prometheus-fastapi-instrumentator in its middleware, a factory's own ``Counter(...)``). The
default registry outlives the app: the next build of the same app meets its own names as
duplicates, and either fails (``Duplicated timeseries in CollectorRegistry``) or, as the
instrumentator does, silently records nothing. A harness that builds an app per test scopes
those registrations to the app's life. Collectors registered before (at import, module
level) are never touched.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any

__all__ = ["RegistryScope"]


class RegistryScope:
    """While started, what registers in ``prometheus_client.REGISTRY`` is noted (the registry
    is never imported here: an app without prometheus_client has nothing to scope);
    :meth:`stop` unregisters it, or, with ``keep=True`` (an app kept for the next test), only
    stops noting."""

    def __init__(self) -> None:
        self._registry: Any = None
        self._added: list[Any] = []

    def start(self) -> RegistryScope:
        registry: Any = getattr(sys.modules.get("prometheus_client"), "REGISTRY", None)
        register = getattr(registry, "register", None)
        # Absent, or noted already by an enclosing scope: nothing to do here.
        if not callable(register) or "register" in vars(registry):
            return self
        added = self._added

        def noting(collector: Any) -> None:
            register(collector)  # a duplicate raises here, as it would have: not noted
            added.append(collector)

        registry.register = noting
        self._registry = registry
        return self

    def stop(self, *, keep: bool = False) -> None:
        registry, self._registry = self._registry, None
        added, self._added = self._added, []
        if registry is None:
            return
        del registry.register  # the instance attribute: the class's method again
        if keep:
            return
        for collector in reversed(added):
            with contextlib.suppress(KeyError):  # the app unregistered it itself
                registry.unregister(collector)
