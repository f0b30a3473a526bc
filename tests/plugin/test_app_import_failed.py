"""An app whose import fails half-way fails every test that builds it with that error: the
first test's import is not tried again under the same environment. Before, the second import
met what the first had declared in a registry outside the app's package (SQLModel's tables:
"Table 'attachments' is already defined"), and every later test said that instead (a trial's
app, whose pipeline module needed a newer SDK than was installed)."""

from __future__ import annotations

import pytest

REGISTRY = """
from sqlalchemy import MetaData

metadata = MetaData()  # a library's registry of declarations, outside the app's package
"""

MODELS = """
from sqlalchemy import Column, Integer, Table

from failing_import_registry import metadata

things = Table("failing_import_things", metadata, Column("id", Integer, primary_key=True))
"""

MAIN = """
from starlette.applications import Starlette

from failing_import_svc import models  # declares its table
from failing_import_svc.client import Client  # a module that is not there

app = Starlette()
"""

CONFTEST = """
import pytest

from pytest_hardening import app_from_import

THE_APP = app_from_import("failing_import_svc.main:app")


@pytest.fixture
def hardening_app_factory():
    return THE_APP
"""

TESTS = """
def test_first(hardened_client):
    pass


def test_second(hardened_client):
    pass
"""


def test_a_failed_import_is_said_in_every_test_not_what_a_second_import_met(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(failing_import_registry=REGISTRY)
    pytester.mkpydir("failing_import_svc")
    pytester.path.joinpath("failing_import_svc", "models.py").write_text(MODELS)
    pytester.path.joinpath("failing_import_svc", "main.py").write_text(MAIN)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_failing_import=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(errors=2)
    output = result.stdout.str()
    assert "already defined" not in output
    result.stdout.fnmatch_lines(
        [
            "ERROR test_failing_import.py::test_first - ModuleNotFoundError: *",
            "ERROR test_failing_import.py::test_second - pytest_hardening.*",
        ]
    )
    assert (
        "importing failing_import_svc.main failed in an earlier test under the same "
        "environment, and is not tried again: ModuleNotFoundError: No module named "
        "'failing_import_svc.client'"
    ) in output
