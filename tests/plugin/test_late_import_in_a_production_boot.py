"""A production boot's startup that imports a module of the app the first time (``import
app.db`` inside its lifespan, as mealie's migrations do) gets the production copy's own,
imported under the production environment: a trial's production check ran its migrations
against the development database, whose module the tests held."""

from __future__ import annotations

import pytest

CONFIG = 'import os\nDB_PATH = os.environ.get("LATEPKG_DB_PATH", "dev.db")\n'
DB = "from latepkg import config\nDB_PATH = config.DB_PATH\n"
MAIN = """
from contextlib import asynccontextmanager

from starlette.applications import Starlette

from latepkg import config


@asynccontextmanager
async def lifespan(app):
    import latepkg.db  # first imported here, in the startup
    from . import seed  # and relatively, a submodule the copy never imported

    for module in (latepkg.db, seed):
        if module.DB_PATH != config.DB_PATH:
            raise RuntimeError(f"migrated {module.DB_PATH!r}, serves {config.DB_PATH!r}")
    yield


app = Starlette(lifespan=lifespan)
"""

CONFTEST = """
import pytest

from pytest_hardening import app_from_import

THE_APP = app_from_import("latepkg.main:app")


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_dev_env():
    return {"LATEPKG_DB_PATH": "dev.db"}


@pytest.fixture
def hardening_prod_env():
    return {"LATEPKG_DB_PATH": "prod.db"}
"""

TESTS = """
import sys


def test_1_development_first(hardened_client):
    assert sys.modules["latepkg.db"].DB_PATH == "dev.db"


def test_2_the_production_boot_imports_its_own(prod_config):
    prod_config.assert_accepts()


def test_3_the_tests_copy_is_untouched(hardened_client):
    assert sys.modules["latepkg.db"].DB_PATH == "dev.db"
"""


def test_a_module_first_imported_by_a_production_startup_is_the_copys(
    pytester: pytest.Pytester,
) -> None:
    package = pytester.mkpydir("latepkg")
    (package / "config.py").write_text(CONFIG)
    (package / "db.py").write_text(DB)
    (package / "seed.py").write_text(DB)
    (package / "main.py").write_text(MAIN)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_late=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=3)
