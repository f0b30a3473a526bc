"""RegistryScope: an app built again takes its metric names back in prometheus_client's default
registry from the earlier build of it.

Apps and their instrumentations register collectors while they are built or first called
(prometheus-fastapi-instrumentator in its middleware, a factory's own ``Counter(...)``). The
default registry outlives the app: the next build of the same app meets its own names as
duplicates, and either fails (``Duplicated timeseries in CollectorRegistry``) or, as the
instrumentator does, silently records nothing. While a harness builds and runs an app, from
the moment prometheus_client is imported (the app's import may be the first), a registration
that clashes only with collectors an *other* app registered under an earlier
harness replaces them (that app is gone: a build per test), and so it does with collectors
registered outside any harness that nothing uses any more (an app an earlier test built and
called without the fixtures: found out by garbage collection). The same app object built once
at import and run by many harnesses keeps its collectors; a clash within one app, or with a
collector outside any harness still in use (made at import, or by an app still alive), raises
as it always did, and is noted for the ``apm`` view (:attr:`RegistryScope.refused`).

A production check's build is a throwaway copy of the app beside the development one (built at
import, say): its registrations displace the holders of the same names while it is built and
checked, and at the end its own are taken out and those put back (``displace``). A check that
keeps the copy past its build (``route_audit``'s, between its startup and probes) does the same
around each run of it (:func:`metrics_run_by`).
"""

from __future__ import annotations

import contextlib
import gc
import sys
import weakref
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._import_watch import ImportWatch

__all__ = ["RegistryScope", "metrics_owned_by", "metrics_run_by"]

#: The collector attribute naming the app (a weak reference) whose harness registered it.
_OWNER = "_pytest_hardening_app"
_PLUGIN = __name__.partition(".")[0]


class RegistryScope:
    """While started, registrations in ``prometheus_client.REGISTRY`` are noted as the app's
    (:meth:`own`), and may replace an earlier app's collectors of the same names. The registry
    is never imported here: an app without prometheus_client has nothing to scope."""

    def __init__(self, *, displace: bool = False) -> None:
        #: A throwaway build's scope (a production check's): its names displace whoever holds
        #: them until :meth:`stop`, which takes its collectors out and puts those back.
        self._displace = displace
        self._displaced: list[Any] = []
        self._registry: Any = None
        self._owner: Callable[[], Any] | None = None
        self._noted: list[Any] = []
        #: The metrics whose registration was refused, a collector still in use holding the
        #: name (read by the ``apm`` view for a zero count: instrumentations swallow the error).
        self.refused: list[str] = []
        self._collected = False  # garbage collected once, for the first unowned clash
        #: The module whose code registered each noted collector (by id), and that module.
        self._made_by: dict[int, tuple[str, Any]] = {}
        self._watch: ImportWatch | None = None  # until prometheus_client is imported
        self._outer: Any = None  # an enclosing scope's noting register, put back at stop

    def start(self) -> RegistryScope:
        if "prometheus_client" not in sys.modules:
            # The app's build may import it first (the session's first build of an app that
            # registers its metrics at import): noted from the moment it is imported.
            from ._import_watch import ImportWatch

            self._watch = ImportWatch(["prometheus_client"], self._note).start()
            return self
        self._note()
        return self

    def _note(self) -> None:
        """Note the registrations in prometheus_client's default registry from now on."""
        registry: Any = getattr(sys.modules.get("prometheus_client"), "REGISTRY", None)
        register = getattr(registry, "register", None)
        # Absent, or noted by this scope already: nothing to do here.
        if not callable(register) or self._registry is not None:
            return
        outer = vars(registry).get("register")
        if outer is not None:  # noted by an enclosing scope (the test's app being served)
            if not self._displace:
                return  # the same app's: the enclosing scope notes it
            # A throwaway copy inside it (a route audit's production build): its names are its
            # own, never the enclosing app's, and they displace that app's until the end.
            register = type(registry).register.__get__(registry)
        self._outer = outer

        def noting(collector: Any) -> None:
            try:
                register(collector)
            except ValueError as error:
                names = _duplicates(registry, collector, error)
                released = (
                    self._displace_holders(registry, names)
                    if self._displace
                    else self._release_stale(registry, register, names)
                )
                if not released:
                    raise
                register(collector)
            self._noted.append(collector)
            self._made_by[id(collector)] = _registering_module()
            self._mark(collector)

        registry.register = noting
        self._registry = registry

    def own(self, app: Any) -> None:
        """``app`` registered what was noted so far, and registers what comes (until stop)."""
        try:
            self._owner = weakref.ref(app)
        except TypeError:  # not weakly referable: held for the scope's life only
            self._owner = lambda: app
        for collector in self._noted:
            self._mark(collector)

    def failed(self) -> None:
        """The build failed: what the modules that went away with it (its refused import)
        registered goes too, as those modules did. Held by the failed test's report, their
        collectors would still look in use to the next build's import of the same modules,
        and every later test fail with ``Duplicated timeseries`` in place of the first one's
        error."""
        registry = self._registry
        if registry is None:
            return
        for collector in list(self._noted):
            name, module = self._made_by.get(id(collector), ("", None))
            if module is not None and sys.modules.get(name) is not module:
                with contextlib.suppress(KeyError):
                    registry.unregister(collector)
                self._noted.remove(collector)

    def stop(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None:
            watch.stop()
        registry, self._registry = self._registry, None
        noted, self._noted = self._noted, []
        outer, self._outer = self._outer, None
        if registry is not None:
            if outer is not None:
                registry.register = outer  # the enclosing scope's, noting again
            else:
                del registry.register  # the instance attribute: the class's method again
            if self._displace:
                self._put_back(registry, noted)

    def _displace_holders(self, registry: Any, names: Any) -> bool:
        """Take the collectors holding ``names`` out until :meth:`stop` (another copy of the
        app, built for development, holds them); False for one this build registered."""
        by_name: dict[str, Any] = getattr(registry, "_names_to_collectors", {})
        holders = {id(c): c for c in (by_name.get(name) for name in names or ()) if c is not None}
        if not holders or any(any(c is n for n in self._noted) for c in holders.values()):
            return False  # a name this build registered twice: the app's own clash
        for holder in holders.values():
            registry.unregister(holder)
            self._displaced.append(holder)
        return True

    def _put_back(self, registry: Any, noted: list[Any]) -> None:
        for collector in noted:  # the throwaway build's: gone with it
            with contextlib.suppress(KeyError):
                registry.unregister(collector)
        displaced, self._displaced = self._displaced, []
        for holder in displaced:
            with contextlib.suppress(ValueError):  # a name taken meanwhile: it keeps it
                type(registry).register(registry, holder)  # back as it was: noted by nobody

    def _mark(self, collector: Any) -> None:
        if self._owner is not None:
            with contextlib.suppress(AttributeError):  # __slots__: never replaced
                setattr(collector, _OWNER, self._owner)

    def _release_stale(self, registry: Any, register: Any, names: Any) -> bool:
        """Unregister the collectors holding ``names`` if they are stale, and say whether they
        were: each one registered under an earlier harness by an app other than this one, or
        outside any harness and used by nothing any more (an app an earlier test built and
        called without the fixtures). One registered at import, or held by an app still
        alive, stays: the clash is real."""
        by_name: dict[str, Any] = getattr(registry, "_names_to_collectors", {})
        if not names or not by_name:
            return False
        clashing = {id(c): c for c in (by_name.get(name) for name in names) if c is not None}
        if not clashing:
            return False
        current = self._owner() if self._owner is not None else None
        unowned: list[Any] = []
        for collector in clashing.values():
            owner = getattr(collector, _OWNER, None)
            if any(collector is noted for noted in self._noted):
                return False  # registered by this build itself
            if owner is None:
                unowned.append(collector)
                continue
            earlier = owner()
            if earlier is not None and earlier is current:
                return False  # the same app registering a name twice
        owned = [c for c in clashing.values() if not any(c is u for u in unowned)]
        clashing.clear()  # no reference here may keep an unowned collector alive: see _unused
        del collector
        if unowned and not self._unused(registry, register, unowned):
            self.refused.append(min(names, key=len))  # the family's name, not its samples'
            return False
        for earlier in owned:
            registry.unregister(earlier)
        return True

    def _unused(self, registry: Any, register: Any, collectors: list[Any]) -> bool:
        """Unregister ``collectors`` and tell whether nothing held them any more; those still
        held are registered again."""
        try:
            refs = [weakref.ref(collector) for collector in collectors]
        except TypeError:  # not weakly referable: cannot tell, so in use
            return False
        while collectors:  # popped: nothing here holds them while garbage is collected
            registry.unregister(collectors.pop())
        if any(ref() is not None for ref in refs) and not self._collected:
            # Only garbage collection frees an app gone out of use (web apps sit in reference
            # cycles); once per build, which frees all of an earlier app's collectors at once.
            self._collected = True
            gc.collect()
        alive = [collector for collector in (ref() for ref in refs) if collector is not None]
        for collector in alive:
            register(collector)
        return not alive


def _registering_module() -> tuple[str, Any]:
    """The module whose code registers a collector (past prometheus_client and this plugin),
    and that module object when it is loaded; ``("", None)`` otherwise."""
    frame: Any = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__")
        if not isinstance(name, str) or not name.startswith(("prometheus_client", _PLUGIN)):
            break
        frame = frame.f_back
    name = frame.f_globals.get("__name__") if frame is not None else None
    module = sys.modules.get(name) if isinstance(name, str) else None
    return (name, module) if isinstance(name, str) and module is not None else ("", None)


def _duplicates(registry: Any, collector: Any, error: ValueError) -> Any:
    """The names ``collector`` could not take: the error's (prometheus_client 0.23 and later
    raise ``DuplicateTimeseries`` with them), else those the registry holds already (earlier
    releases raise a plain ``ValueError`` that only says them)."""
    names = getattr(error, "duplicates", None)
    if names is not None:
        return names
    try:
        return set(registry._names_to_collectors).intersection(registry._get_names(collector))
    except Exception:  # a registry of another shape: the clash stays the app's error
        return None


@contextlib.contextmanager
def metrics_owned_by(make: Callable[[], Any]) -> Iterator[Any]:
    """The app ``make()`` builds (a production check's build and startup, a throwaway), its
    metrics registered while the block runs: in place of those of another copy of the app
    holding the same names (a development build, an app built at import), which are put back
    at the end, when its own are taken out, refused build or not (see
    :class:`RegistryScope`)."""
    scope = RegistryScope(displace=True).start()
    try:
        app = make()
        scope.own(app)
        yield app
    finally:
        scope.stop()


@contextlib.contextmanager
def metrics_run_by(app: Any) -> Iterator[None]:
    """What ``app`` (a production check's build, kept past :func:`metrics_owned_by`) registers
    while the block runs it (its startup, a probe request) is its build's too: in place of the
    holders of those names, put back at the end, when its own are taken out.
    prometheus-fastapi-instrumentator registers in its middleware, made at the app's first
    call: left registered, the copy's names would refuse the development copy's import (its
    module-level ``Counter`` of the same name) with "Duplicated timeseries"."""
    scope = RegistryScope(displace=True).start()
    scope.own(app)
    try:
        yield
    finally:
        scope.stop()
