"""A plain factory whose modules check their settings at import: the production checks build
it from a fresh import, as a server process does, whichever test imported the modules first.

Before, ``prod_config`` called the factory on the modules a development test had imported:
``assert_accepts`` passed a configuration a server refuses, and ``assert_rejects`` failed on a
refusal the app does make."""

from __future__ import annotations

import pytest

CONFIG = """
import os

APP_ENV = os.environ.get("APP_ENV", "development")
SECRET_KEY = os.environ.get("SECRET_KEY", "changethis")
if APP_ENV == "production" and SECRET_KEY == "changethis":
    raise RuntimeError("SECRET_KEY must be set in production")
"""

MAIN = """
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from shop import config


class Refused(Exception):
    pass


def create_app():
    import os

    if os.environ.get("APP_ENV") == "production" and not os.environ.get("ALLOWED_HOSTS"):
        raise Refused("ALLOWED_HOSTS is required in production")
    routes = [Route("/env", lambda r: JSONResponse({"env": config.APP_ENV}))]
    return Starlette(routes=routes + DEBUG_ROUTES)


# Decided at import, as many apps decide their debug routes.
DEBUG_ROUTES = [] if config.APP_ENV == "production" else [
    Route("/debug/settings", lambda r: JSONResponse({"secret": config.SECRET_KEY}))
]
"""

PLAIN_MAIN = """
import os

from starlette.applications import Starlette


class Refused(Exception):
    pass


def create_app():
    if os.environ.get("APP_ENV") == "production" and not os.environ.get("ALLOWED_HOSTS"):
        raise Refused("ALLOWED_HOSTS is required in production")
    return Starlette()
"""

CONFTEST = """
import pytest

PROD = {
    "APP_ENV": "production",
    "SECRET_KEY": "s3cr3t-k3y-for-prod",
    "ALLOWED_HOSTS": "shop.example",
}


@pytest.fixture
def hardening_app_factory():
    from shop.main import create_app

    return create_app


@pytest.fixture
def hardening_dev_env():
    return {"APP_ENV": "development"}


@pytest.fixture
def hardening_prod_env():
    return PROD
"""

TESTS = """
import shop.main  # the development import: its check of SECRET_KEY ran under the shell's env


def test_a_development_request(hardened_client):
    assert hardened_client.get("/env").json() == {"env": "development"}


def test_b_an_unset_secret_is_refused(prod_config):
    error = prod_config.assert_rejects(drop=["SECRET_KEY"])
    assert "SECRET_KEY must be set" in str(error)


def test_c_an_unset_secret_is_not_accepted(prod_config):
    prod_config.assert_accepts(SECRET_KEY=None)


def test_d_the_known_good_env_boots(prod_config):
    app = prod_config.assert_accepts()
    assert app is not None


def test_e_a_refusal_of_the_factory_is_still_seen(prod_config):
    prod_config.assert_rejects(drop=["ALLOWED_HOSTS"])


def test_f_the_debug_route_is_judged_on_a_fresh_import(route_audit):
    route_audit.assert_absent_in_production("/debug")


def test_g_the_tests_own_modules_stay_the_development_ones():
    assert shop.main.config.APP_ENV == "development"
"""


@pytest.fixture
def shop(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.mkpydir("shop")
    pytester.path.joinpath("shop", "config.py").write_text(CONFIG)
    pytester.path.joinpath("shop", "main.py").write_text(MAIN)
    pytester.makeconftest(CONFTEST)
    pytester.syspathinsert()
    return pytester


def test_module_level_checks_are_judged_on_a_fresh_import(shop: pytest.Pytester) -> None:
    shop.makepyfile(test_shop=TESTS)
    result = shop.runpytest_subprocess("-p", "pytest_hardening", "-p", "no:randomly", "-q")
    result.assert_outcomes(passed=6, failed=1)
    # The unset secret is refused as a server process refuses it: assert_accepts says so.
    result.stdout.fnmatch_lines(
        [
            "*test_c_an_unset_secret_is_not_accepted*",
            "*expected the production build to succeed with SECRET_KEY dropped; it was refused: "
            "*SECRET_KEY must be set in production*",
        ]
    )
    assert "s3cr3t-k3y-for-prod" not in result.stdout.str()


def test_an_app_whose_import_reads_nothing_keeps_its_own_modules(
    pytester: pytest.Pytester,
) -> None:
    # Settings read in the factory: the modules the tests imported are a server's too, so the
    # refusal is of the class the tests import (no second copy of the package).
    pytester.mkpydir("plain")
    pytester.path.joinpath("plain", "main.py").write_text(PLAIN_MAIN)
    pytester.makeconftest(
        CONFTEST.replace("shop.main", "plain.main").replace(
            '    "SECRET_KEY": "s3cr3t-k3y-for-prod",\n', ""
        )
    )
    pytester.syspathinsert()
    pytester.makepyfile(
        test_plain="""
        from plain.main import Refused


        def test_refused_with_the_tests_class(prod_config):
            assert isinstance(prod_config.assert_rejects(drop=["ALLOWED_HOSTS"]), Refused)
            assert isinstance(prod_config.assert_rejects(ALLOWED_HOSTS=""), Refused)
        """
    )
    result = pytester.runpytest_subprocess("-p", "pytest_hardening", "-p", "no:randomly", "-q")
    result.assert_outcomes(passed=1)


def test_a_factory_no_import_can_reach_is_named_in_the_advice(shop: pytest.Pytester) -> None:
    shop.makeconftest(
        CONFTEST.replace(
            "    return create_app", "    return lambda: create_app()  # not reachable by name"
        )
    )
    shop.makepyfile(
        test_shop="""
        import shop.main


        def test_refused(prod_config):
            prod_config.assert_rejects(drop=["SECRET_KEY"])
        """
    )
    result = shop.runpytest_subprocess("-p", "pytest_hardening", "-p", "no:randomly", "-q")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*A check made when a module is imported ran under the development env*lambda*"]
    )
