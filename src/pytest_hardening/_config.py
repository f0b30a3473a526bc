"""What the user configured: ``"package.module:attr"`` specs and placeholders for what is not.

Plain and cheap to import (the plugin module loads it for every run).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any

__all__ = ["AppFactory", "NotConfigured", "SpecError", "load_factory", "load_object", "split_spec"]

AppFactory = Callable[[], Any]


class NotConfigured(Mapping[str, str]):
    """An empty stand-in for an env mapping the user has not provided; using it for a build
    raises with ``hint``."""

    def __init__(self, fixture: str, hint: str) -> None:
        self.fixture = fixture
        self.hint = hint

    def __getitem__(self, key: str) -> str:
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0

    def require(self) -> None:
        raise LookupError(f"{self.fixture} is not configured: {self.hint}")


class SpecError(AttributeError):
    """A ``package.module:attribute`` whose module has no such attribute."""


def split_spec(spec: str) -> tuple[str, str] | None:
    """``(module, attribute)`` of ``"package.module:attribute"``, stripped; None when the
    spec has not that form."""
    module, sep, attr = spec.partition(":")
    return (module.strip(), attr.strip()) if sep and module.strip() and attr.strip() else None


def load_object(spec: str, *, what: str = "object") -> Any:
    """Resolve ``"package.module:attr"`` (``attr`` may be dotted) to the object it names."""
    parts = split_spec(spec)
    if parts is None:
        raise ValueError(f"{what} must look like 'package.module:attribute', not {spec!r}")
    module_name, attr = parts
    target: Any = importlib.import_module(module_name)
    for part in attr.strip().split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise SpecError(f"{spec}: {module_name!r} has no attribute {attr!r}") from None
    return target


def load_factory(spec: str) -> AppFactory:
    """Resolve ``"package.module:create_app"`` to a callable."""
    target = load_object(spec, what="app factory")
    if not callable(target):
        raise TypeError(f"{spec} is not callable")
    factory: AppFactory = target
    return factory
