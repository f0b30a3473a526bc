"""Closing the app's breakers after every test, whichever fixtures it used.

Module-level breakers outlive the app that tripped them: left open, the next test starts
with its provider cut off. ``_plugin`` calls :func:`close_breakers_after` once each test has
run; the harness and ``hardened_app`` leave their requests here for it to find the breakers
through. Apart from ``_harness_fixtures`` because it is its own step of the test's life: the
fixtures only mark what they built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from ._harness import Harness

__all__ = ["APP_REQUEST", "HARNESS_REQUEST", "close_breakers_after"]

#: The request of a test's ``hardened_app``, kept for :func:`close_breakers_after`.
APP_REQUEST = pytest.StashKey["pytest.FixtureRequest"]()
#: The request of a test's harness, kept for :func:`close_breakers_after` (no app built).
HARNESS_REQUEST = pytest.StashKey["pytest.FixtureRequest"]()
#: Set while :func:`close_breakers_after` asks a test that built no app for its breakers.
_NO_APP_NOW = pytest.StashKey[bool]()


class _NoAppNow(Exception):
    """``hardened_app`` asked for while a test that built none is asked for its breakers."""


def close_breakers_after(item: pytest.Item) -> None:
    """Have the harness close the app's breakers at teardown, in every test that built the app
    (with ``breakers`` the fixture does it): module-level breakers outlive the app. In a test
    of the plugin's that built none (a service called directly, under ``faults``), those an
    override of ``hardening_breakers`` gives without an app are closed too; an override that
    needs the app is not made to build one."""
    request = item.stash.get(APP_REQUEST, None)
    built = request is not None
    if request is None:
        request = item.stash.get(HARNESS_REQUEST, None)
        if request is None:
            return
    harness: Harness = request.getfixturevalue("_hardening_harness")
    if harness.breakers is not None:
        return
    item.stash[_NO_APP_NOW] = not built
    try:  # after the test, in its call phase: every fixture it used is still up
        breakers = request.getfixturevalue("hardening_breakers")
    except (pytest.fail.Exception, Exception):
        # No breakers exposed (the default fails), an override that cannot give them for
        # this test, or one that needs the app this test did not build: it did not ask for
        # them, and the next test that does resets them first.
        return
    finally:
        del item.stash[_NO_APP_NOW]
    harness.close_breakers(breakers)


@pytest.fixture
def _hardening_app_allowed(request: pytest.FixtureRequest) -> None:
    """The first of ``hardened_app``'s fixtures: refuses before any other is set up while a
    test that built no app is asked for its breakers (see :func:`close_breakers_after`)."""
    if request.node.stash.get(_NO_APP_NOW, False):
        raise _NoAppNow("the test built no app: its breakers are not looked for in one")
