"""With the `faults` fixture, what the network guard refused is visible during the test, in
`faults.blocked` and `faults.problems_report()`, as with a FaultInjector of one's own; the
teardown reports it once."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

TESTS = """
import contextlib
import urllib.error
import urllib.request


def test_refused_connections_are_visible_during_the_test(faults):
    with contextlib.suppress(OSError):
        urllib.request.urlopen("https://metrics.example.org/push", timeout=5)
    assert [b.host for b in faults.blocked] == ["metrics.example.org"]
    report = faults.problems_report()
    assert report is not None and "metrics.example.org" in report
"""


def test_faults_sees_what_the_harness_guard_refused(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_blocked=TESTS)
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    # The call passes; the teardown still fails the test for the refused connection, once.
    result.assert_outcomes(passed=1, errors=1)
    details = result.stdout.str().split("short test summary info")[0]
    assert details.count("tried to reach the network 1 time(s)") == 1


def test_a_harness_started_either_way_keeps_one_guard() -> None:
    from pytest_hardening import Harness

    for guard_first in (True, False):
        with Harness() as harness:
            if guard_first:
                guard = harness.guard_network()
                faults = harness.fake_providers({})
            else:
                faults = harness.fake_providers({})
                guard = harness.guard_network()
            with pytest.raises(urllib.error.URLError, match="blocked an outbound connection"):
                urllib.request.urlopen("https://metrics.example.org/push", timeout=5)
            assert [b.host for b in faults.blocked] == ["metrics.example.org"]
            assert guard.blocked == faults.blocked
            assert harness.problems().count("tried to reach the network") == 1


def test_a_test_that_checks_the_refusal_itself_can_pass(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_blocked=TESTS.replace(
            "def test_refused_connections_are_visible_during_the_test(faults):\n",
            "def test_refused_connections_are_visible_during_the_test(faults):\n"
            "    faults.allow_blocked()\n",
        ).replace(
            '    assert report is not None and "metrics.example.org" in report\n',
            "    assert report is None  # allowed: the test checked them itself\n",
        )
    )
    result = pytester.runpytest_inprocess(
        "-p", "pytest_hardening", "-p", "no:randomly", "-p", "no:asyncio"
    )
    result.assert_outcomes(passed=1)
