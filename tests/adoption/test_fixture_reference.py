"""docs/fixtures.md names every public method and attribute of every fixture's object."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from pytest_hardening import (
    ApmView,
    AuditReport,
    BreakerInspector,
    Clock,
    FaultInjector,
    ProdConfigChecker,
    RouteAuditor,
    SentryCapture,
)

REFERENCE = (Path(__file__).parents[2] / "docs" / "fixtures.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "cls",
    [
        FaultInjector,
        Clock,
        BreakerInspector,
        SentryCapture,
        ApmView,
        ProdConfigChecker,
        AuditReport,
        RouteAuditor,
    ],
)
def test_every_public_member_is_in_the_fixture_reference(cls: type) -> None:
    public = [name for name, _ in inspect.getmembers(cls) if not name.startswith("_")]
    missing = [name for name in public if not re.search(rf"`[^`]*\b{name}\b", REFERENCE)]
    assert missing == [], f"{cls.__name__}: document these in docs/fixtures.md"
