"""docs/fixtures.md names every public method and attribute of every fixture's object."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from pytest_hardening import (
    BreakerInspector,
    Clock,
    FaultInjector,
    ProdConfigChecker,
    RouteAuditor,
)
from pytest_hardening._apm import ApmView
from pytest_hardening._prod_config import AuditReport
from pytest_hardening._sentry import SentryCapture

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
