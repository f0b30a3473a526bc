"""adapt_breaker: the adapter that fits a breaker; breaker_registry: names -> breakers, live."""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from ._at_once import AtOnce, InAppLoop
from ._base import ADAPTER_PROTOCOL, BreakerAdapter, UnsupportedBreakerError
from ._circuitbreaker import CircuitbreakerAdapter
from ._native import NativeBreaker, ObservedBreaker
from ._purgatory import PurgatoryAdapter, PurgatoryRegistry, is_purgatory_factory
from ._pybreaker import AioBreakerAdapter, PyBreakerAdapter

__all__ = ["BreakerRegistry", "adapt_breaker", "breaker_registry"]

_ADAPTERS = (
    AtOnce,
    NativeBreaker,
    ObservedBreaker,
    PyBreakerAdapter,
    CircuitbreakerAdapter,
    PurgatoryAdapter,
)


def _library_class(module: str, name: str) -> Any:
    # Only a library that is already imported can have made the breaker: never import one here.
    return getattr(sys.modules.get(module), name, None)


def _is(obj: Any, module: str, name: str) -> bool:
    cls = _library_class(module, name)
    return isinstance(cls, type) and isinstance(obj, cls)


def adapt_breaker(breaker: Any, *, in_app_loop: InAppLoop | None = None) -> BreakerAdapter:
    """Wrap ``breaker`` in the adapter that fits it (adapters pass through unchanged).

    Known: pybreaker, aiobreaker, circuitbreaker (fabfuel) and purgatory breakers, the native
    protocol (``reference_app.resilience``), any breaker with a ``state`` attribute,
    ``force_open()`` and ``reset()``, and any object with the :class:`BreakerAdapter` methods
    (``async def`` ones too, run by ``in_app_loop`` when given: see :class:`~._at_once.AtOnce`).
    Anything else raises ``TypeError`` naming that protocol.
    """
    if isinstance(breaker, _ADAPTERS):
        return breaker
    if _is(breaker, "pybreaker", "CircuitBreaker"):
        return PyBreakerAdapter(breaker)
    if _is(breaker, "aiobreaker", "CircuitBreaker"):
        return AioBreakerAdapter(breaker)
    if _is(breaker, "circuitbreaker", "CircuitBreaker"):
        return CircuitbreakerAdapter(breaker)
    if type(breaker).__module__.startswith("purgatory.") and hasattr(
        getattr(breaker, "context", breaker), "_state"
    ):  # a Context, or the Async/SyncCircuitBreaker around one
        return PurgatoryAdapter(breaker)
    if _read_and_reset_only(breaker):
        return ObservedBreaker(breaker, in_app_loop)  # force_open() says why it cannot
    if all(callable(getattr(breaker, a, None)) for a in ("force_open", "reset")):
        state = inspect.getattr_static(breaker, "state", None)
        if inspect.isfunction(state) or inspect.ismethod(getattr(breaker, "state", None)):
            if any(
                inspect.iscoroutinefunction(getattr(breaker, name))
                for name in ("state", "force_open", "reset")
            ):
                return AtOnce(breaker, in_app_loop)
            adapter: BreakerAdapter = breaker  # an adapter: state() is a method
            return adapter
        if hasattr(breaker, "state"):
            if callable(getattr(breaker, "add_listener", None)):
                return NativeBreaker(breaker, in_app_loop)
            return ObservedBreaker(breaker, in_app_loop)
    raise UnsupportedBreakerError(
        f"cannot inspect {type(breaker).__module__}.{type(breaker).__qualname__} as a circuit "
        f"breaker{_missing(breaker)}. pytest-hardening reads pybreaker, aiobreaker, "
        f"circuitbreaker and purgatory breakers, and anything that follows the breaker "
        f"protocol: {ADAPTER_PROTOCOL}. Return such adapters from the `hardening_breakers` "
        "fixture (tests), or from `HarnessSession(breakers=...)` (chaos targets)."
    )


def _read_and_reset_only(breaker: Any) -> bool:
    """A breaker with a ``state`` attribute and ``reset()`` but no ``force_open()`` (many a
    hand-written one): it can be read and closed, if not opened by hand."""
    if callable(getattr(breaker, "force_open", None)) or not callable(
        getattr(breaker, "reset", None)
    ):
        return False
    state = getattr(breaker, "state", None)
    return hasattr(breaker, "state") and not callable(state)


def _missing(breaker: Any) -> str:
    """What a hand-written breaker lacks, when it has some of the protocol (a ``state`` that
    can be read is common; the means to close it for each test, or open it, less so)."""
    steer = [
        f"{name}()"
        for name in ("force_open", "reset")
        if not callable(getattr(breaker, name, None))
    ]
    if not hasattr(breaker, "state") or not steer:
        return ""
    return (
        f": it has `state` but no {' or '.join(steer)}, which the `breakers` fixture needs to "
        "close it when each test starts and to open it on request"
    )


class BreakerRegistry(Protocol):
    """Names -> breakers, read live (a registry may gain breakers while a test runs)."""

    def names(self) -> list[str]: ...

    def get(self, name: str) -> Any: ...


class _MappingRegistry:
    def __init__(self, mapping: Mapping[Any, Any]) -> None:
        self._mapping = mapping

    def names(self) -> list[str]:
        return [str(name) for name in self._mapping]

    def get(self, name: str) -> Any:
        if name in self._mapping:
            return self._mapping[name]
        # Non-string keys (an Enum of services, say) are named by str().
        return next((v for k, v in self._mapping.items() if str(k) == name), None)


class _IterableRegistry:
    """A registry that is not a mapping: ``items()``, ``get_circuits()``/``circuit_breakers``
    (circuitbreaker's ``CircuitBreakerMonitor``), or iteration over ``(name, breaker)`` pairs,
    breakers with a ``name``, or names it can be indexed with."""

    def __init__(self, registry: Any) -> None:
        self._registry = registry

    def _pairs(self) -> list[tuple[str, Any]]:
        registry = self._registry
        circuits = getattr(registry, "circuit_breakers", None)
        if isinstance(circuits, Mapping):  # CircuitBreakerMonitor (class or instance)
            return [(str(k), v) for k, v in circuits.items()]
        if callable(getattr(registry, "items", None)):
            return [(str(k), v) for k, v in registry.items()]
        pairs = []
        for item in _iterate(registry):
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                pairs.append(item)
            elif isinstance(item, str):
                pairs.append((item, registry[item]))
            else:
                name = getattr(item, "name", None)
                if not isinstance(name, str) or not name:
                    raise UnsupportedBreakerError(
                        f"cannot name the breaker {item!r} in {type(registry).__name__}: give "
                        "it a `name`, or return a mapping name -> breaker from hardening_breakers"
                    )
                pairs.append((name, item))
        return pairs

    def names(self) -> list[str]:
        return [name for name, _ in self._pairs()]

    def get(self, name: str) -> Any:
        return dict(self._pairs()).get(name)


def _iterate(registry: Any) -> Iterable[Any]:
    for method in ("get_circuits", "values", "all"):
        found = getattr(registry, method, None)
        if callable(found):
            return list(found())
    try:
        return list(registry)
    except TypeError:
        raise UnsupportedBreakerError(
            f"cannot read breakers from {type(registry).__name__}: hardening_breakers (or "
            "app.state.breakers) must be a mapping name -> breaker, a purgatory circuit-breaker "
            "factory, circuitbreaker's CircuitBreakerMonitor, an object with items() giving "
            "(name, breaker) pairs, or an iterable of named breakers. A registry that only "
            "looks breakers up by name (get(name)): return {name: registry.get(name) for each "
            "name} from hardening_breakers; a breaker the plugin cannot drive goes in an "
            "adapter of yours (docs/fixtures.md, 'Your own breaker')"
        ) from None


def breaker_registry(breakers: Any) -> BreakerRegistry:
    """The live registry view of what ``hardening_breakers`` returned."""
    if isinstance(breakers, Mapping):
        return _MappingRegistry(breakers)
    if is_purgatory_factory(breakers):
        return PurgatoryRegistry(breakers)
    if hasattr(breakers, "names") and hasattr(breakers, "get") and callable(breakers.names):
        return breakers  # type: ignore[no-any-return]
    return _IterableRegistry(breakers)
