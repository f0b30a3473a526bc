"""The suite's own isolation: what one test leaves in the worker does not change another's."""

from __future__ import annotations

import sys
import types

import pytest


def test_an_in_process_app_named_main_imports_its_own_after_another_tests_main(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    # As docs/examples/app_at_import leaves it: the worker's `main` is another test's app.
    monkeypatch.setitem(sys.modules, "main", types.ModuleType("main"))
    pytester: pytest.Pytester = request.getfixturevalue("pytester")
    pytester.makepyfile(main="VALUE = 'its own'\n")
    pytester.makepyfile(
        test_main_app="import main\n\n\ndef test_value():\n    assert main.VALUE == 'its own'\n"
    )
    result = pytester.runpytest_inprocess("-p", "no:randomly", "-p", "no:asyncio")
    result.assert_outcomes(passed=1)
