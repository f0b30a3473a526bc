"""A production build of an app made at import gets the project's own modules afresh, and
leaves none of them behind in the tests' ``sys.modules``.

Two user trials. A settings package beside the app's (``conf/settings.py`` beside ``app/``, not
named in ``packages=``) kept the development import's settings in the production build, so
``assert_rejects(SECRET="changethis")`` said "the app accepts them" of an app that refuses that
value at import, after a development test only; alone, it passed. And a factory that prepares
the app (``app = THE_APP(); import pkg.config``, as the docs teach) imported ``pkg.config``
after the production copy was put back, under the production environment: that module stayed
in ``sys.modules``, a later test saw production settings, and the StaleImportWarning blamed an
import before the first development build."""

from __future__ import annotations

import pytest

SETTINGS = """
import os

SECRET = os.environ.get("SECRET", "changethis")
"""

MAIN = """
from fastapi import FastAPI

from conf.settings import SECRET

if SECRET == "changethis":
    raise RuntimeError("SECRET is the published default: refusing to start")
app = FastAPI()
"""

CONFTEST = """
import sys
from pathlib import Path

import pytest

from pytest_hardening import app_from_import

sys.path.insert(0, str(Path(__file__).parent / "libs"))  # a settings package elsewhere

THE_APP = app_from_import("app.main:app")  # conf not named in packages=


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_dev_env():
    return {"SECRET": "dev-secret-123456789"}


@pytest.fixture
def hardening_prod_env():
    return {"SECRET": "Zq8v3LmT1-prod-secret-9f8e7d6c"}
"""

DEVELOPMENT_FIRST = """
def test_dev(hardened_client):
    assert hardened_client.get("/docs").status_code == 200


def test_default_secret_refused(prod_config):
    prod_config.assert_rejects(SECRET="changethis")


def test_known_good_accepted(prod_config):
    prod_config.assert_accepts()


def test_the_tests_settings_are_the_development_ones():
    import conf.settings

    assert conf.settings.SECRET == "dev-secret-123456789"
"""

PRODUCTION_FIRST = """
import os


def test_production_builds(prod_config):
    prod_config.assert_rejects(SECRET="changethis")
    prod_config.assert_accepts()


def test_the_production_copy_left_no_settings_behind():
    import conf.settings  # the first import of the tests' own: under their environment

    assert "SECRET" not in os.environ
    assert conf.settings.SECRET == "changethis"
"""


@pytest.mark.parametrize("where", [".", "libs"], ids=["beside-the-app", "another-sys-path-entry"])
@pytest.mark.parametrize(
    "tests", [DEVELOPMENT_FIRST, PRODUCTION_FIRST], ids=["dev-first", "prod-first"]
)
def test_a_settings_package_outside_packages_is_imported_afresh_for_production(
    pytester: pytest.Pytester, where: str, tests: str
) -> None:
    app = pytester.mkpydir("app")
    (app / "main.py").write_text(MAIN)
    conf = pytester.path / where / "conf"
    conf.mkdir(parents=True)
    (conf / "__init__.py").write_text("")
    (conf / "settings.py").write_text(SETTINGS)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_stale=tests)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:cacheprovider", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=tests.count("def test_"))
    assert "the app accepts them" not in result.stdout.str()


CONFIG = """
import os

SECRET = os.environ.get("SECRET_KEY", "")
"""

PKG_MAIN = """
from fastapi import FastAPI

from pkg.config import SECRET

if len(SECRET) < 8:
    raise ValueError("SECRET_KEY too short")
app = FastAPI()


@app.get("/health")
def health():
    return {"ok": True}
"""

PREPARING = """
import pytest

from pytest_hardening import app_from_import

THE_APP = app_from_import("pkg.main:app")


def prepared():
    app = THE_APP()
    import pkg.config  # to prepare what the app's startup needs

    # The module this build runs on, the production copy's for a production build.
    assert pkg.config is THE_APP.module("pkg.config", app), "not the build's own module"
    return app


@pytest.fixture
def hardening_app_factory():
    return prepared


@pytest.fixture
def hardening_dev_env():
    return {"SECRET_KEY": "dev-secret-1"}


@pytest.fixture
def hardening_prod_env():
    return {"SECRET_KEY": "prod-secret-Zq8v3LmT1pXw9Rk2"}
"""

ORDER = """
import sys


def test_a_prod(prod_config):
    prod_config.assert_accepts()
    assert "pkg.config" not in sys.modules


def test_b_dev(hardened_client):
    assert hardened_client.get("/health").status_code == 200


def test_c_the_tests_settings_are_the_development_ones():
    import pkg.config

    assert pkg.config.SECRET == "dev-secret-1"
"""


def test_a_preparing_factorys_imports_after_a_production_build_stay_with_that_build(
    pytester: pytest.Pytester,
) -> None:
    package = pytester.mkpydir("pkg")
    (package / "config.py").write_text(CONFIG)
    (package / "main.py").write_text(PKG_MAIN)
    pytester.makeconftest(PREPARING)
    pytester.makepyfile(test_order=ORDER)
    result = pytester.runpytest_inprocess(
        "-p",
        "pytest_hardening",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:asyncio",
        "-W",
        "always",
    )
    result.assert_outcomes(passed=3)
    assert "StaleImportWarning" not in result.stdout.str()
