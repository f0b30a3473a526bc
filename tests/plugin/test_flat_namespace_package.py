"""A flat layout's settings in a package without ``__init__.py`` beside ``main.py``
(``core/config.py``, imported as ``core.config``): a trial's production builds kept the first
build's settings module, and a refused variable read as accepted after any other build. Such a
namespace package goes aside with ``main`` as a regular one does."""

from __future__ import annotations

import pytest

MAIN = """
from fastapi import FastAPI

from nsconfig.config import BUCKET

app = FastAPI()
"""

CONFIG = """
import os

BUCKET = os.getenv("BUCKET")
if not BUCKET:
    raise ValueError("Missing BUCKET environment variable.")
"""

CONFTEST = """
import pytest

from pytest_hardening import app_from_import

THE_APP = app_from_import("nsmain:app")


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_dev_env():
    return {"BUCKET": "dev-bucket"}


@pytest.fixture
def hardening_prod_env():
    return {"BUCKET": "prod-bucket"}
"""

TESTS = """
def test_1_accepts(prod_config):
    prod_config.assert_accepts()


def test_2_rejects_a_missing_bucket(prod_config):
    prod_config.assert_rejects(drop=["BUCKET"])


def test_3_the_audit_finds_nothing(prod_config):
    report = prod_config.audit()
    assert [str(m) for m in report.accepted] == []
"""


@pytest.mark.parametrize(
    "folder",
    ["nsconfig", "nsconfig/settings"],
    ids=["modules in it", "modules only in a folder below it"],  # a trial's api/routers/
)
def test_a_namespace_package_beside_main_is_imported_again(
    pytester: pytest.Pytester, folder: str
) -> None:
    # Names of their own: a worker's sys.path may hold another test's main.py or core/.
    module = folder.replace("/", ".") + ".config"
    pytester.makepyfile(nsmain=MAIN.replace("nsconfig.config", module))
    (pytester.path / folder).mkdir(parents=True)  # no __init__.py
    (pytester.path / folder / "config.py").write_text(CONFIG)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_flat=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:cacheprovider", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=3)
