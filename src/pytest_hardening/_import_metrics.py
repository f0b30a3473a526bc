"""ImportMetrics: what a development import of the app registers in prometheus_client's default
registry, and whether its failure there was the registry's doing rather than the app's.

``app_from_import`` remembers an import that failed under an environment and does not try it
again: a second try would meet what the first declared (SQLModel's tables: "already defined").
A registration refused because a collector registered *before* the import began held the name
is another kind of failure: it says what the process held then (a production copy's metrics,
an earlier build's, a test's own ``Counter``), not what the app does under that environment,
and the holder may be gone by the next test. Remembered, it failed every later test of the
session with the first one's clash. Such an import is tried again by the next build; what the
failed one registered is taken out (its modules went with it), so the retry starts where it
did. A clash among the import's own registrations (two of its modules registering one name) is
the app's own failure, and remembered as before.
"""

from __future__ import annotations

import ast
import sys
from typing import Any

from ._exception_chain import chain
from ._prometheus_scope import RegistryScope

__all__ = ["ImportMetrics"]

#: How prometheus_client words a refused registration (the message of ``DuplicateTimeseries``
#: in 0.23 and later, of a plain ``ValueError`` before).
_CLASH = "Duplicated timeseries in CollectorRegistry: "


class ImportMetrics:
    """Started before an import, stopped after it: :meth:`failed` when it raised."""

    def __init__(self) -> None:
        self._held = _holders()  # who held each name before the import began
        self._scope = RegistryScope()

    def start(self) -> ImportMetrics:
        self._scope.start()
        return self

    def failed(self, error: BaseException) -> bool:
        """Take out what the failed import registered (call it once its modules are gone), and
        say whether ``error`` is a registration refused for a name that a collector held
        before the import began, and holds still: not the app's failure, to try again."""
        self._scope.failed()  # under a harness, its own scope does this when the build fails
        now = _holders()
        for link in chain(error):
            for name in _clashing_names(link):
                earlier = self._held.get(name)
                if earlier is not None and now.get(name) is earlier:
                    return True
        return False

    def stop(self) -> None:
        self._scope.stop()
        self._held = {}  # no reference here keeps a collector alive


def _holders() -> dict[str, Any]:
    """The collector holding each name in prometheus_client's default registry (none when
    prometheus_client is not imported: then every name is the import's own)."""
    registry = getattr(sys.modules.get("prometheus_client"), "REGISTRY", None)
    by_name = getattr(registry, "_names_to_collectors", None)
    return dict(by_name) if isinstance(by_name, dict) else {}


def _clashing_names(error: BaseException) -> set[str]:
    """The names a refused registration could not take: the error's own (0.23 and later), else
    those its message lists."""
    if not isinstance(error, ValueError):
        return set()
    names: Any = getattr(error, "duplicates", None)
    text = str(error)
    if names is None and text.startswith(_CLASH):
        try:
            names = ast.literal_eval(text[len(_CLASH) :])
        except (ValueError, SyntaxError):
            return set()
    if not isinstance(names, (set, frozenset, list, tuple)):
        return set()
    return {name for name in names if isinstance(name, str)}
