"""``assert_rejects`` on an app that accepts the change: the hint about builds under the
development env is for factories that cannot be imported afresh, not for one of the user's own
that calls an ``app_from_import`` factory and then prepares the app (two trials' apps)."""

from __future__ import annotations

import pytest

APP = """
import os

from starlette.applications import Starlette

SECRET = os.environ.get("SECRET", "dev")  # read at import, never validated
app = Starlette()
"""

CONFTEST = """
import pytest

from pytest_hardening import app_from_import
from wrapped_hint_app import app as held

THE_APP = app_from_import("wrapped_hint_app:app")


@pytest.fixture
def hardening_app_factory(request):
    if request.node.name.startswith("test_wrapped"):
        def build():  # a factory of one's own, as docs/getting-started.md shows
            app = THE_APP()
            app.state.prepared = True
            return app
        return build
    return lambda: held  # the app the tests imported: never imported afresh


@pytest.fixture
def hardening_prod_env():
    return {"SECRET": "s" * 40}
"""

TESTS = """
import pytest


def _refusal(prod_config):
    with pytest.raises(AssertionError) as failure:
        prod_config.assert_rejects(SECRET="x")
    return str(failure.value)


def test_wrapped_factory_is_not_blamed(prod_config):
    message = _refusal(prod_config)
    assert "the app accepts them." in message
    assert "development env" not in message


def test_held_app_is_told_to_use_a_factory(prod_config):
    message = _refusal(prod_config)
    assert "cannot be imported afresh by name" in message
"""


def test_the_development_env_hint_only_for_factories_not_imported_afresh(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(wrapped_hint_app=APP, test_wrapped_hint=TESTS)
    pytester.makeconftest(CONFTEST)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=2)
