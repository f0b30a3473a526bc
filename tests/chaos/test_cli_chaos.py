"""``hardening chaos``: the catalogue from the command line, reports and exit status."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from pytest_hardening._cli import DEFAULT_TARGET, app

runner = CliRunner()


def test_runs_named_scenarios_with_timelines_and_reports(tmp_path: Path) -> None:
    html, data = tmp_path / "chaos.html", tmp_path / "chaos.json"
    result = runner.invoke(
        app,
        [
            "chaos",
            "exotel-outage",
            "database-loss",
            "--seed",
            "7",
            "--jobs",
            "2",  # two worker processes; the report keeps catalogue order
            "--report",
            str(html),
            "--json",
            str(data),
        ],
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "PASS exotel-outage" in out
    assert "exotel CLOSED ─5 fails→ OPEN ─60s→ HALF_OPEN ─2 ok→ CLOSED" in out
    assert "database CLOSED ─10 fails→ OPEN ─60s→ HALF_OPEN ─3 ok→ CLOSED" in out
    assert re.search(r"requests by status: .*503×\d+", out)
    assert "no data lost: ok" in out
    assert "2 passed, 0 failed" in out
    assert "(seed 7)" in out

    report = json.loads(data.read_text())
    assert report["passed"] is True
    assert [s["name"] for s in report["scenarios"]] == ["exotel-outage", "database-loss"]
    assert report["scenarios"][0]["seed"] == 7

    page = html.read_text()
    assert page.count('<section class="scenario"') == 2
    assert 'class="band state-OPEN" data-breaker="exotel"' in page
    assert 'class="band state-OPEN" data-breaker="database"' in page
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page)


def test_exit_status_1_when_a_scenario_fails() -> None:
    result = runner.invoke(app, ["chaos", "--target", "tests.chaos.failing_target:target"])
    assert result.exit_code == 1
    assert "FAIL expects-too-much" in result.stdout
    assert "breaker 'payments': expected OPEN, is CLOSED" in result.stdout
    assert "0 passed, 1 failed" in result.stdout
    # The replay names the catalogue: run as printed, it replays the same failure.
    replay = "hardening chaos expects-too-much --seed 0 --target tests.chaos.failing_target:target"
    assert f"replay with: {replay}" in result.stdout
    again = runner.invoke(app, replay.split()[1:])
    assert again.exit_code == 1
    assert "FAIL expects-too-much" in again.stdout


def test_unknown_scenario_is_a_usage_error() -> None:
    result = runner.invoke(app, ["chaos", "no-such-scenario"])
    assert result.exit_code == 2
    assert "unknown scenario" in result.stdout
    assert "exotel-outage" in result.stdout  # the known ones are listed


def test_a_target_that_does_not_load_is_a_usage_error() -> None:
    result = runner.invoke(app, ["chaos", "--target", "no_such_module:target"])
    assert result.exit_code == 2
    assert "cannot load chaos target 'no_such_module:target'" in result.stdout


def test_list_names_every_scenario() -> None:
    result = runner.invoke(app, ["chaos", "--list"])
    assert result.exit_code == 0
    assert "database-loss" in result.stdout
    assert "exotel-recovery-under-traffic" in result.stdout


def test_default_target_is_the_reference_app() -> None:
    assert DEFAULT_TARGET == "reference_app.chaos:target"


def test_python_dash_m_is_the_same_command() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest_hardening", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    for command in ("chaos", "check-config", "serve"):
        assert command in result.stdout
