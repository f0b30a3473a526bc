"""Date defaults taken as values at import (``default_factory=datetime.now``, SQLAlchemy's
``default=datetime.now``) are methods of the real class, which the clock does not reach:
pydantic compiles them into its validator, out of Python's reach. ``now`` and ``utcnow`` read
the system clock in C, so they keep real time; ``today`` reads ``time.time`` at each call, so
it follows the clock. A default that looks the name up when called follows it too. This pins
what docs/fixtures.md (``clock``) says: if the clock ever re-points such defaults, change both.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import BaseModel, Field

from pytest_hardening import Clock

START = datetime(2020, 1, 1, 12, tzinfo=timezone.utc)  # noon: the same day in any zone
MOVED = (START + timedelta(days=3)).date()
# The clock fixture (its session's remembered scans: a bare Clock() sweeps the heap each time).
pytestmark = pytest.mark.hardening_clock(START)


class BoundAtImport(BaseModel):
    created_at: datetime = Field(default_factory=datetime.now)


class ReadWhenCalled(BaseModel):
    created_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))


@dataclasses.dataclass
class Entry:
    bound: datetime = dataclasses.field(default_factory=datetime.now)
    called: datetime = dataclasses.field(default_factory=lambda: datetime.now())


METADATA = sa.MetaData()
ROWS = sa.Table(
    "rows",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("bound", sa.DateTime, default=datetime.now),
    sa.Column("called", sa.DateTime, default=lambda: datetime.now(timezone.utc)),
)


def test_a_pydantic_default_factory_follows_the_clock_only_when_it_reads_the_name(
    clock: Clock,
) -> None:
    clock.advance(3 * 86400)
    assert ReadWhenCalled().created_at.date() == MOVED
    assert BoundAtImport().created_at.date() != MOVED  # real now: the documented limit
    assert datetime.now().date() == MOVED  # what a handler reads


def test_a_sqlalchemy_column_default_follows_the_clock_only_when_it_reads_the_name(
    clock: Clock,
) -> None:
    engine = sa.create_engine("sqlite://")
    METADATA.create_all(engine)
    with engine.begin() as conn:
        clock.advance(3 * 86400)
        conn.execute(ROWS.insert())
        bound, called = conn.execute(sa.select(ROWS.c.bound, ROWS.c.called)).one()
    engine.dispose()
    assert called.date() == MOVED
    assert bound.date() != MOVED


def test_a_dataclass_default_factory_follows_the_clock_only_when_it_reads_the_name(
    clock: Clock,
) -> None:
    clock.advance(3 * 86400)
    entry = Entry()
    assert (entry.called.date(), entry.bound.date() != MOVED) == (MOVED, True)


BOUND_AT_IMPORT = {
    "datetime.now": datetime.now,
    "datetime.utcnow": datetime.utcnow,
    "datetime.today": datetime.today,
    "date.today": date.today,
}


@pytest.mark.parametrize(
    ("name", "follows"),
    [
        ("datetime.now", False),
        ("datetime.utcnow", False),
        ("datetime.today", True),
        ("date.today", True),
    ],
)
def test_which_bound_date_methods_follow_the_clock(clock: Clock, name: str, follows: bool) -> None:
    method: Callable[[], Any] = BOUND_AT_IMPORT[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # utcnow, from Python 3.12
        clock.advance(3 * 86400)
        value = method()
    day = value.date() if isinstance(value, datetime) else value
    assert (day == MOVED) is follows
