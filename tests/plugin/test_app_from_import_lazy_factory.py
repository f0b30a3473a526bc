"""A factory of the tests' own that imports the app inside it (``def create_app(): from
myapp.main import app``), given to ``app_from_import(..., packages=["myapp"])`` as
docs/getting-started.md teaches: the factory's module reads nothing at its import, the app's
package is imported by the first build, and a second environment silently got the first
one's app (a trial's guard test ran on the local database and passed). What the first build
imports counts as the import's reads now."""

from __future__ import annotations

import pytest

CONFIG = 'import os\n\nDB_URL = os.environ.get("DB_URL", "unset")  # read at import\n'

MAIN = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from myapp import config


async def db(request):
    return JSONResponse({"db": config.DB_URL})


app = Starlette(routes=[Route("/db", db)])
"""

FACTORY = """
def create_app():  # the tests' own: the app's package is imported here, not at the top
    from myapp.main import app

    return app
"""

CONFTEST = """
import pytest

from pytest_hardening import app_from_import

THE_APP = app_from_import("tests_h.factory:create_app", packages=["myapp"])


@pytest.fixture
def hardening_app_factory():
    return THE_APP
"""

TESTS = """
import pytest


@pytest.mark.parametrize("url", ["postgresql://a.internal/db", "postgresql://b.internal/db"])
def test_each_env_reaches_the_app(url, hardened_client):
    assert hardened_client.get("/db").json() == {"db": url}


@pytest.fixture
def hardening_dev_env(request):
    return {"DB_URL": request.node.callspec.params["url"]}
"""


def test_a_second_environment_gets_its_own_app(pytester: pytest.Pytester) -> None:
    pytester.mkpydir("myapp")
    (pytester.path / "myapp" / "config.py").write_text(CONFIG)
    (pytester.path / "myapp" / "main.py").write_text(MAIN)
    tests = pytester.mkpydir("tests_h")
    (tests / "factory.py").write_text(FACTORY)
    (tests / "conftest.py").write_text(CONFTEST)
    (tests / "test_env.py").write_text(TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio", "tests_h"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*StaleImportWarning*differing in DB_URL*"])
