"""Methods replaced on library classes for an injector's lifetime, and the libraries' modules
loaded only when the app imported them.

Shared by the interceptors (httpx2's transports, the aiohttp transports of httpx and of the AI
SDKs) and the SDKs' virtual retry sleep: each replaces a method on a class it does not own and
must put back exactly what was there.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any

__all__ = ["ClassPatches", "import_if_loaded"]


def import_if_loaded(name: str, *, loaded: str | None = None) -> ModuleType | None:
    """Module ``name`` when ``loaded`` (default: its top-level package) is already imported,
    else None. Never imports a library the process has not: a suite without it should not pay,
    and nothing of it can run."""
    if (loaded or name.partition(".")[0]) not in sys.modules:
        return None
    try:
        return importlib.import_module(name)
    except ImportError:  # a layout we do not know, or an optional dependency missing
        return None


class ClassPatches:
    """Replace attributes of classes (or modules); :meth:`undo` puts back what each had, in
    reverse order (a method the class only inherited is deleted again)."""

    def __init__(self) -> None:
        self._saved: list[tuple[type | ModuleType, str, Any]] = []

    def patch(self, cls: type | ModuleType, name: str, replacement: Any) -> None:
        self._saved.append((cls, name, cls.__dict__.get(name)))
        setattr(cls, name, replacement)

    def patched(self, cls: type | ModuleType, name: str | None = None) -> bool:
        """Whether this object replaced ``name`` (any attribute, without one) of ``cls``."""
        return any(saved is cls and name in (None, attr) for saved, attr, _ in self._saved)

    def undo(self) -> None:
        saved, self._saved = self._saved, []
        for cls, name, original in reversed(saved):
            if original is None:
                delattr(cls, name)
            else:
                setattr(cls, name, original)
