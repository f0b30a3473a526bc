"""app_from_import when a test module imported part of the app's package first: what it holds
decides. Modules whose import reads nothing the build changes stay shared and the rest is
imported in place; otherwise the build is a copy imported aside, whose import-time
``sentry_sdk.init`` must serve every later test of that copy, not the first one alone."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import sentry_sdk

from pytest_hardening import EnvPatch, StaleImportWarning, app_from_import

ERRORS = """
import os

REGION = os.environ.get("REGION", "eu") if os.environ.get("ERRORS_READ_REGION") else "any"


class Boom(Exception):
    pass
"""

MAIN = """
import os

import sentry_sdk
from starlette.applications import Starlette
from starlette.routing import Route

from mini.errors import Boom

if os.environ.get("SENTRY_DSN"):
    sentry_sdk.init(dsn=os.environ["SENTRY_DSN"])


def boom(request):
    raise Boom("kaput")


app = Starlette(routes=[Route("/boom", boom)])
"""

CONFTEST = """
import pytest

from pytest_hardening import app_from_import

THE_APP = app_from_import("mini.main:app")


@pytest.fixture
def hardening_app_factory():
    return THE_APP


@pytest.fixture
def hardening_dev_env():
    return {"SENTRY_DSN": "https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/2"}
"""

TESTS = """
import sys

from mini.errors import Boom  # at collection, before any build


def test_1(hardened_client, sentry_events):
    assert hardened_client.get("/boom").status_code == 500
    assert len(sentry_events.events) == 1


def test_2(hardened_client, sentry_events):
    assert hardened_client.get("/boom").status_code == 500
    assert len(sentry_events.events) == 1  # the copy's client, kept past the first test


def test_3_which_boom(hardened_app):
    shared = sys.modules["mini.main"].Boom is Boom if "mini.main" in sys.modules else False
    print(f"SHARED={shared}")
"""


@pytest.mark.parametrize("reads", [False, True], ids=["holds what reads nothing", "holds a read"])
def test_sentry_initialised_at_the_import_of_a_build_serves_every_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, reads: bool
) -> None:
    package = pytester.mkpydir("mini")
    (package / "errors.py").write_text(ERRORS)
    (package / "main.py").write_text(MAIN)
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_mini=TESTS)
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    if reads:  # what the test module holds read REGION ("eu" here), the build sets "us"
        monkeypatch.setenv("ERRORS_READ_REGION", "1")
        pytester.makeconftest(
            CONFTEST.replace('return {"SENTRY_DSN"', 'return {"REGION": "us", "SENTRY_DSN"')
        )
    monkeypatch.syspath_prepend(str(pytester.path))
    before = sentry_sdk.get_global_scope().client
    try:
        result = pytester.runpytest_inprocess(
            "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio", "-s"
        )
        # Kept for that session, not for this process: put back at its end.
        assert sentry_sdk.get_global_scope().client is before
    finally:
        for name in [n for n in sys.modules if n.partition(".")[0] == "mini"]:
            del sys.modules[name]
    result.assert_outcomes(passed=3, warnings=1 if reads else 0)
    # Held modules that read nothing: the app's own modules are one copy, its exceptions the
    # tests' own; a held read: the build is a copy aside, said by a StaleImportWarning.
    result.stdout.fnmatch_lines(["*SHARED=False*" if reads else "*SHARED=True*"])


CACHE_MAIN = """
import os

from starlette.applications import Starlette

from mini import cache

REGION = os.environ.get("REGION", "eu")
app = Starlette()
"""


def test_a_factory_of_ones_own_reaches_the_modules_its_build_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # sys.modules["mini.cache"] was the other copy's (or missing) for a build imported aside,
    # and a stand-in put there never reached the app.
    package = tmp_path / "mini"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "cache.py").write_text("CLIENT = 'redis://cache.internal:6379'\n")
    (package / "main.py").write_text(CACHE_MAIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("REGION", "eu")
    try:
        import mini.main  # type: ignore[import-not-found]  # a test module's top, under "eu"

        the_app = app_from_import("mini.main:app")
        with EnvPatch({"REGION": "us"}), pytest.warns(StaleImportWarning):
            aside = the_app()
        cache = the_app.module("mini.cache", aside)
        assert cache is not sys.modules["mini.cache"]
        assert aside is not mini.main.app
        with EnvPatch({"REGION": "eu"}):
            home = the_app()
        assert home is mini.main.app  # the held modules' own: sys.modules' then
        assert the_app.module("mini.cache", home) is sys.modules["mini.cache"]
    finally:
        for name in [n for n in sys.modules if n.partition(".")[0] == "mini"]:
            del sys.modules[name]
