"""A factory the ``hardening_app_factory`` fixture makes anew in each test is never given its
kept app back: said once, with what to do (a trial's app then failed on its second test, its
engine made at import bound to the first test's event loop)."""

from __future__ import annotations

import pytest

CONFTEST = """
import pytest
from starlette.applications import Starlette

BUILDS = []


def build_once():
    BUILDS.append(1)
    return Starlette()


@pytest.fixture
def hardening_app_factory(request):
    if request.node.name.startswith("test_closure"):
        def build():  # a new function in each test
            BUILDS.append(1)
            return Starlette()
        return build
    return build_once


@pytest.fixture
def hardening_app_reset():
    return lambda app: None
"""

TESTS = """
from conftest import BUILDS


def test_closure_1(hardened_client):
    pass


def test_closure_2(hardened_client):
    pass


def test_closure_3(hardened_client):
    assert len(BUILDS) == 3  # one build per test: never reused


def test_once_1(hardened_client):
    pass


def test_once_2(hardened_client):
    assert len(BUILDS) == 4  # built once, then kept
"""


def test_a_factory_made_in_each_test_is_told_once(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_factories=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=5)
    output = result.stdout.str()
    assert output.count("AppReuseWarning: the app factory") == 1
    assert "hardening_app_factory.<locals>.build is a new function in each test" in output
    assert "test_closure_2" in output.split("warnings summary")[1]
