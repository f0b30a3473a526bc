"""Libraries that record an app's declarations for the whole process.

A copy of the app imported aside (a production build, a build under another environment)
declares everything again, and such a library refuses the second declaration before any
check runs. Two ways through, one per kind of registry:

- a registry that lives in a package the app's copy may have its own of (SQLModel's one
  ``MetaData`` and class registry: "Table 'users' is already defined for this MetaData
  instance") goes aside with the app, in :data:`ASIDE`;
- a registry that is a set of names in a library that cannot be copied without breaking the
  models the tests hold (pydantic v1 records each ``@validator`` by module and name and
  refuses one seen before: "duplicate validator function") forgets the app's names while the
  copy is imported, and is as it was after (:func:`declared_again`).
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator

__all__ = ["ASIDE", "ImportAgainError", "declared_again", "refused_twice"]

#: Packages imported aside with the app's own (when imported at all).
ASIDE = ("sqlmodel",)

#: Modules holding pydantic v1's set of the validators declared in the process: pydantic 1.x's,
#: and the copy pydantic 2 ships as ``pydantic.v1``.
_VALIDATOR_NAMES = ("pydantic.class_validators", "pydantic.v1.class_validators")


@contextlib.contextmanager
def declared_again(roots: Iterable[str]) -> Iterator[None]:
    """Inside, the app's packages ``roots`` may declare their pydantic v1 validators again; after,
    the registries hold what they held before (and whatever else was declared meanwhile), so a
    later import of the app's home copy is still the first to declare its names."""
    prefixes = tuple(f"{root}." for root in roots)
    before = {module: set(names) for module, names in _registries()}
    for _, names in _registries():
        names.difference_update([n for n in names if n.startswith(prefixes)])
    try:
        yield
    finally:
        for module, names in _registries():  # pydantic may have been imported meanwhile
            names.difference_update([n for n in names if n.startswith(prefixes)])
            names.update(before.get(module, ()))


def _registries() -> list[tuple[str, set[str]]]:
    found = []
    for module in _VALIDATOR_NAMES:
        names = getattr(sys.modules.get(module), "_FUNCS", None)
        if isinstance(names, set):
            found.append((module, names))
    return found


class ImportAgainError(RuntimeError):
    """The app's modules refused a second import in this process (a library's registry of
    declarations for the whole process, not the app refusing its configuration): a production
    check cannot run on them, and says so instead of counting a refusal."""


def refused_twice(module: str, error: Exception) -> str:
    """A library that records the app's declarations for the whole process (one the plugin
    does not know: pydantic v1's validators and SQLModel's tables are let through) refused
    the second import that a production build or a build under another environment needs."""
    return (
        f"{module} cannot be imported a second time in this process, as a production build "
        f"or a build under another environment needs ({type(error).__name__}: {error}). A "
        "library records the app's declarations for the whole process and refuses them "
        "declared again: let them be (pydantic v1's allow_reuse=True is one such switch), or "
        "run the production tests (prod_config, route_audit, @pytest.mark.production) in a "
        "pytest run of their own, where their import is the first; this is not the app "
        "refusing its configuration"
    )
