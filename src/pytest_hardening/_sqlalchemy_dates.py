"""freezegun's fake date classes, mapped by SQLAlchemy's ORM while the clock runs.

While time is frozen, ``datetime.datetime`` and ``datetime.date`` are freezegun's
``FakeDatetime`` and ``FakeDate``. A declarative model imported for the first time then
(``from datetime import datetime`` and ``created_at: Mapped[datetime]``) hands SQLAlchemy a
class its table of Python types does not hold: it matches a type on its exact class, not a
subclass, and the import fails with ``MappedAnnotationError: Could not locate SQLAlchemy Core
type ... FakeDatetime``, far from the clock that caused it.

While installed, the registries' type lookup answers a fake class with what it answers for
the real one, so a registry's own ``type_annotation_map`` entry for ``datetime`` still wins as
in production; then with the fake class's own answer (a SQLAlchemy imported under an earlier
clock keyed its table by the fakes). Other types pass through untouched. SQLAlchemy's lookup
is put back when the clock stops: a fake annotation read after that (the subclass of a mixin
defined while frozen) fails as with freezegun alone. SQLAlchemy is not imported here: a
process that has not loaded it has nothing to teach, and one that loads it under the clock
keys its table by the fakes and needs no help until the clock stops.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any

import freezegun.api

__all__ = ["SqlalchemyFakeDates"]

_LOOKUP = "_resolve_type"  # registry._resolve_type(python_type): 2.0 and 2.1
_MARK = "_pytest_hardening_fake_dates"


class SqlalchemyFakeDates:
    """Installs the lookup on SQLAlchemy's ``registry`` class when SQLAlchemy is loaded;
    :meth:`remove` puts SQLAlchemy's back."""

    def __init__(self) -> None:
        self._saved: tuple[type, Callable[..., Any]] | None = None

    def install(self) -> None:
        if self._saved is not None:
            return
        decl_api = sys.modules.get("sqlalchemy.orm.decl_api")
        registry = getattr(decl_api, "registry", None)
        if not isinstance(registry, type):
            return  # not loaded
        original = vars(registry).get(_LOOKUP)
        if not callable(original) or getattr(original, _MARK, False):
            return  # a release without this lookup, or another running clock's
        self._saved = (registry, original)
        setattr(registry, _LOOKUP, _resolving_fake_dates(original))

    def remove(self) -> None:
        saved, self._saved = self._saved, None
        if saved is not None:
            registry, original = saved
            setattr(registry, _LOOKUP, original)


def _resolving_fake_dates(original: Callable[..., Any]) -> Callable[..., Any]:
    api = freezegun.api
    pairs = ((api.FakeDatetime, api.real_datetime), (api.FakeDate, api.real_date))

    @functools.wraps(original)
    def resolve(self: Any, python_type: Any, *args: Any, **kwargs: Any) -> Any:
        # By identity: annotations need not be hashable.
        real = next((r for fake, r in pairs if python_type is fake), None)
        if real is None or python_type in getattr(self, "type_annotation_map", {}):
            return original(self, python_type, *args, **kwargs)  # not ours, or keyed as is
        found = original(self, real, *args, **kwargs)
        return found if found is not None else original(self, python_type, *args, **kwargs)

    setattr(resolve, _MARK, True)
    return resolve
