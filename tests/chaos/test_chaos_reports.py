"""What a failing run reports: breakers made during the run, failures of many lines, and
what ``--target`` refuses before running anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pytest_hardening._cli import app
from pytest_hardening.chaos import assert_scenario_passes
from tests.chaos import report_targets

runner = CliRunner()


def test_a_breaker_made_during_the_run_is_reported_as_started_closed(tmp_path: Path) -> None:
    # A trial's app made its breaker at the first request and it never moved: the report said
    # "breakers: none" though ExpectBreaker("...", "CLOSED") passed in the same run.
    with pytest.raises(pytest.fail.Exception) as info:
        assert_scenario_passes(report_targets.FIRST_USE, report_targets.first_use())
    explained = str(info.value)
    assert "expected status [500], got 201" in explained  # the only failure
    assert "breaker timelines (virtual seconds):\n  payments CLOSED\n" in explained
    assert "breakers: none" not in explained

    data = tmp_path / "chaos.json"
    target = "tests.chaos.report_targets:first_use"
    result = runner.invoke(app, ["chaos", "--target", target, "--json", str(data)])
    assert result.exit_code == 1, result.output
    [scenario] = json.loads(data.read_text())["scenarios"]
    assert scenario["breakers"] == {"payments": {"initial": "CLOSED", "transitions": []}}


def test_a_failure_of_many_lines_keeps_them_under_its_first() -> None:
    target = "tests.chaos.report_targets:undeclared_host"
    result = runner.invoke(app, ["chaos", "--target", target])
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("  ✗ "))
    assert "not registered providers" in lines[first]
    rest = lines[first + 1 : next(i for i, line in enumerate(lines) if "replay with" in line)]
    assert any("POST https://api.payments.test/charge" in line for line in rest)
    assert all(line.startswith("    ") for line in rest), rest
    undeclared = report_targets.undeclared_host()
    [scenario] = undeclared.catalogue()
    with pytest.raises(pytest.fail.Exception) as info:  # the same under pytest
        assert_scenario_passes(scenario, undeclared)
    explained = str(info.value).splitlines()
    listed = next(line for line in explained if "POST https://api.payments.test/charge" in line)
    assert listed.startswith("    ")


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("APP_FACTORY", "it is an app factory (app_from_import('tests.chaos.report_targets:"),
        ("APP", "a Starlette takes arguments (scope, receive, send)"),
        ("create_app", "create_app is annotated to return Starlette"),
    ],
)
def test_a_target_that_is_clearly_an_app_is_refused_without_being_called(
    name: str, why: str
) -> None:
    # A trial named its app_from_import factory: the command built the app to reject it.
    # Each of these raises or builds an app if called.
    result = runner.invoke(app, ["chaos", "--target", f"tests.chaos.report_targets:{name}"])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())  # the console wraps long lines
    assert f"is not a ChaosTarget, nor a function returning one: {why}" in said
    assert "a zero-argument function returning one" in said
