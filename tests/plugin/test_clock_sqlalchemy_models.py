"""SQLAlchemy declarative models imported for the first time under the clock: their
``from datetime import datetime`` reads freezegun's ``FakeDatetime``, and ``Mapped[datetime]``
failed with "MappedAnnotationError: Could not locate SQLAlchemy Core type ... FakeDatetime".
The columns map as in production: to ``DateTime`` and ``Date``, or to the registry's own
``type_annotation_map`` entry for ``datetime``. SQLAlchemy's lookup is its own again once the
clock stopped. Each run in a fresh process: whether SQLAlchemy was loaded before the clock
started is the point."""

from __future__ import annotations

import pytest

BASE = """
from datetime import datetime

from sqlalchemy import DateTime
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True)}
"""

MODELS = """
from datetime import date, datetime
from typing import Annotated, Optional

from sqlalchemy.orm import Mapped, mapped_column

from shop.base import Base

Due = Annotated[date, mapped_column(index=True)]


class Stamped:
    created_at: Mapped[datetime]


class Order(Stamped, Base):
    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    due: Mapped[Due]
    shipped_at: Mapped[Optional[datetime]]
    paid_on: Mapped[date | None]
"""

LEDGER = """
from datetime import date, datetime

from sqlalchemy import DateTime
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class LedgerBase(DeclarativeBase):  # defined under the clock: its map is keyed by the fake
    type_annotation_map = {datetime: DateTime(timezone=True)}


class Refund(LedgerBase):
    __tablename__ = "refunds"
    id: Mapped[int] = mapped_column(primary_key=True)
    refunded_at: Mapped[datetime]
    refunded_on: Mapped[date]
"""

CHECKS = """
from datetime import date, datetime, timezone

import sqlalchemy as sa
from sqlalchemy.orm import Session


def columns(table):
    return {
        c.name: (type(c.type).__name__, getattr(c.type, "timezone", None), c.nullable)
        for c in table.c
        if c.name != "id"
    }


REFUND = {"refunded_at": ("DateTime", True, False), "refunded_on": ("Date", None, False)}
ORDER = {
    "created_at": ("DateTime", True, False),  # the registry's own entry, as in production
    "due": ("Date", None, False),
    "shipped_at": ("DateTime", True, True),
    "paid_on": ("Date", None, True),
}


def store_an_order(models, clock):
    engine = sa.create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(models.Order(created_at=datetime.now(timezone.utc), due=date.today()))
        session.commit()
        assert session.scalars(sa.select(models.Order.due)).one() == clock.now().date()
    engine.dispose()
"""

LOADED_FIRST = """
from sqlalchemy.orm import registry

import shop.base
from checks import ORDER, REFUND, columns, store_an_order

LOOKUP = vars(registry)["_resolve_type"]  # SQLAlchemy's, loaded before any clock


def test_a_models_imported_under_the_clock(clock):
    from shop import ledger, models

    assert columns(models.Order.__table__) == ORDER
    assert columns(ledger.Refund.__table__) == REFUND
    store_an_order(models, clock)


def test_b_sqlalchemy_has_its_own_lookup_back():
    assert vars(registry)["_resolve_type"] is LOOKUP
"""

LOADED_UNDER_THE_CLOCK = """
import sys


def test_a_sqlalchemy_and_models_imported_under_the_clock(clock):
    assert "sqlalchemy" not in sys.modules  # the clock started without importing it
    from checks import ORDER, columns, store_an_order
    from shop import models

    assert columns(models.Order.__table__) == ORDER
    store_an_order(models, clock)


def test_b_models_imported_under_the_next_clock(clock):
    from checks import REFUND, columns
    from shop import ledger

    assert columns(ledger.Refund.__table__) == REFUND  # its date: SQLAlchemy's table, by fakes
"""


@pytest.mark.parametrize(
    "tests",
    [LOADED_FIRST, LOADED_UNDER_THE_CLOCK],
    ids=["sqlalchemy-loaded-before-the-clock", "sqlalchemy-loaded-under-the-clock"],
)
def test_models_imported_under_the_clock_map_their_dates(
    pytester: pytest.Pytester, tests: str
) -> None:
    pytester.mkpydir("shop")
    for name, source in (("base", BASE), ("models", MODELS), ("ledger", LEDGER)):
        pytester.path.joinpath("shop", f"{name}.py").write_text(source)
    pytester.makepyfile(checks=CHECKS, test_frozen_shop=tests)
    pytester.syspathinsert()
    result = pytester.runpytest_subprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio", "-q"
    )
    result.assert_outcomes(passed=2)
    assert "MappedAnnotationError" not in result.stdout.str()
