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

import datetime as _datetime
import importlib
import importlib.util
import sys
import types
import warnings
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
    """Give ``FakeDate`` and ``FakeDatetime`` the schemas of ``date`` and ``datetime``, and an
    older pydantic's schema generator the real classes (:class:`_RealDates`)."""
    api = freezegun.api
    for fake, schema in ((api.FakeDate, "date_schema"), (api.FakeDatetime, "datetime_schema")):
        if _HOOK not in vars(fake):
            setattr(fake, _HOOK, _schema(schema))
    generator = sys.modules.get("pydantic._internal._generate_schema")
    if getattr(generator, "datetime", None) is _datetime:
        generator.datetime = _RealDates()  # type: ignore[union-attr]
    _prepare_real_dates_as_fake()
    _import_pydantic_v1_in_real_time()


def _prepare_real_dates_as_fake() -> None:
    """pydantic 2.7 and 2.8 match a date type in ``datetime_prepare_pydantic_annotations``,
    whose own ``import datetime`` reads the module freezegun swapped the classes of: under the
    clock a real ``datetime`` annotation matched nothing there ("Unable to generate
    pydantic-core schema"). The generator's list of those functions gets one that hands it the
    fake class the module now holds, whose schema is the same."""
    name = "pydantic._internal._std_types_schema"
    std = sys.modules.get(name)
    if std is None and "pydantic._internal._generate_schema" in sys.modules and _installed(name):
        std = importlib.import_module(name)  # pydantic imports it at a first schema: in time
    original = getattr(std, "datetime_prepare_pydantic_annotations", None)
    methods = getattr(std, "PREPARE_METHODS", None)
    if std is None or original is None or not isinstance(methods, tuple):
        return  # no pydantic, or a release that matches dates elsewhere
    if original not in methods:
        return  # done already
    fakes = {
        freezegun.api.real_datetime: freezegun.api.FakeDatetime,
        freezegun.api.real_date: freezegun.api.FakeDate,
    }

    def prepare(source_type: Any, *args: Any, **kwargs: Any) -> Any:
        frozen = _datetime.datetime is not freezegun.api.real_datetime
        return original(
            fakes.get(source_type, source_type) if frozen else source_type, *args, **kwargs
        )

    vars(std)["PREPARE_METHODS"] = tuple(prepare if m is original else m for m in methods)


def _import_pydantic_v1_in_real_time() -> None:
    """pydantic 2's ``pydantic.v1``, imported now, in real time, where FastAPI would import it
    later. FastAPI imports it lazily (its first route with a response model), and imported under
    the clock it cannot be at all: ``class ConstrainedDate(date, metaclass=...)`` over
    freezegun's ``FakeDate`` is a "metaclass conflict", failing the build. Only for a FastAPI
    installed beside a pydantic 2; about 30 ms, once per process."""
    if "pydantic.v1" in sys.modules:
        return
    fastapi = "fastapi" in sys.modules or _installed("fastapi")
    if not fastapi or not _installed("pydantic.v1"):  # no FastAPI; pydantic 1, or none
        return
    with warnings.catch_warnings():  # on Python 3.14 it warns that it is not made for it
        warnings.simplefilter("ignore")
        importlib.import_module("pydantic.v1")


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


class _RealDates(types.ModuleType):
    """The ``datetime`` module as pydantic's schema generator sees it: its ``date`` and
    ``datetime`` stay the real classes while freezegun has swapped the module's.

    pydantic before 2.14 matches a type with ``obj is datetime.datetime``, looked up when the
    schema is built: under the clock, a real ``datetime`` annotation (a model defined before
    the clock and built lazily under it, as the AI SDKs' response models are) matched nothing,
    and the first parse failed with "Unable to generate pydantic-core schema for <class
    'datetime.datetime'>". Fake annotations still meet the hook above; later pydantic releases
    read the module once, at import, and never look again.
    """

    def __init__(self) -> None:
        super().__init__("datetime")
        self.date = freezegun.api.real_date
        self.datetime = freezegun.api.real_datetime

    def __getattr__(self, name: str) -> Any:
        return getattr(_datetime, name)
