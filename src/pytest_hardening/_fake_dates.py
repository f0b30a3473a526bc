"""freezegun's fake date classes, made known to pydantic.

While time is frozen, ``datetime.datetime`` and ``datetime.date`` are freezegun's
``FakeDatetime`` and ``FakeDate``. A pydantic model or ``TypeAdapter`` built then (an app's
``TypeAdapter(list[Order])`` in a handler, ``create_model``, a module imported for the first
time, as SDKs import their types lazily) meets a class pydantic has no schema for and fails
with ``PydanticSchemaGenerationError``, far from the clock that caused it. Each fake class
gets pydantic's hook, answering with the schema of the real class it stands for.

Installed once and never removed: a model defined while frozen keeps the fake class as its
annotation, and pydantic may build its schema later (``defer_build``, FastAPI's lazy
adapters), after the clock stopped. Nothing else reads the hook. pydantic is not imported
here: the hook runs only when pydantic calls it. It answers with the schema itself rather than
asking pydantic for the real class's: a pydantic imported for the first time while frozen
keyed its own table by the fake classes.
"""

from __future__ import annotations

from typing import Any

import freezegun.api

__all__ = ["teach_pydantic_the_fake_dates"]

_HOOK = "__get_pydantic_core_schema__"


def _schema(name: str) -> classmethod[Any, Any, Any]:
    def hook(cls: type, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema  # loaded: pydantic is asking

        return getattr(core_schema, name)()

    return classmethod(hook)


def teach_pydantic_the_fake_dates() -> None:
    """Give ``FakeDate`` and ``FakeDatetime`` the schemas of ``date`` and ``datetime``."""
    api = freezegun.api
    for fake, schema in ((api.FakeDate, "date_schema"), (api.FakeDatetime, "datetime_schema")):
        if _HOOK not in vars(fake):
            setattr(fake, _HOOK, _schema(schema))
