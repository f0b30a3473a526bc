"""``hardening chaos``: the catalogue from the command line, reports and exit status."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from pytest_hardening._cli import DEFAULT_TARGET, app

runner = CliRunner()


def test_runs_named_scenarios_with_timelines_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    html, data = tmp_path / "chaos.html", tmp_path / "chaos.json"

    def no_fork() -> int:
        raise AssertionError("forked while another thread was running")

    # From a process with other threads (a test session) --jobs runs the scenarios in it.
    monkeypatch.setattr(os, "fork", no_fork)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        result = runner.invoke(
            app,
            ["chaos", "exotel-outage", "database-loss", "--seed", "7", "--jobs", "2",
             "--report", str(html), "--json", str(data)],
        )  # fmt: skip
    finally:
        stop.set()
        other.join()
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


def test_exit_status_1_when_a_scenario_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)  # else the replay starts with it
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


def test_unknown_scenario_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from pytest_hardening.chaos import HarnessSession

    def no_build(self: object) -> None:
        raise AssertionError("the app was set up for a run that cannot start")

    monkeypatch.setattr(HarnessSession, "warm_up", no_build)
    result = runner.invoke(app, ["chaos", "no-such-scenario"])
    assert result.exit_code == 2
    assert "unknown scenario" in result.stdout
    assert "exotel-outage" in result.stdout  # the known ones are listed


def test_a_target_that_does_not_load_is_a_usage_error() -> None:
    result = runner.invoke(app, ["chaos", "--target", "no_such_module:target"])
    assert result.exit_code == 2
    assert "cannot load chaos target 'no_such_module:target'" in result.stdout


def test_a_target_with_a_syntax_error_is_one_line_naming_where(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "typo_target.py").write_text("def target(:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    result = runner.invoke(app, ["chaos", "--target", "typo_target:target"])
    assert result.exit_code == 2
    assert "cannot load chaos target 'typo_target:target'" in result.stdout
    assert "typo_target.py, line 1" in result.stdout
    assert "Traceback" not in result.output


def test_a_target_that_cannot_set_up_a_run_is_one_line_and_status_2() -> None:
    target = "tests.chaos.failing_target:unreadable_breakers"
    result = runner.invoke(app, ["chaos", "--target", target])
    assert result.exit_code == 2, result.output
    assert "cannot set up a run: TypeError('cannot read breakers from Registry" in result.output
    assert "Traceback" not in result.output


def test_an_error_without_a_message_says_where_it_was_raised() -> None:
    result = runner.invoke(app, ["chaos", "--target", "tests.chaos.failing_target:silent_failure"])
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())  # the console wraps long lines
    assert "cannot set up a run: AssertionError() at tests/chaos/failing_target.py:" in said
    assert "(assert mini_app.PAYMENTS_PROVIDER is None)" in said


def test_list_names_every_scenario() -> None:
    result = runner.invoke(app, ["chaos", "--list"])
    assert result.exit_code == 0
    assert "database-loss" in result.stdout
    assert "exotel-recovery-under-traffic" in result.stdout


def test_default_target_is_the_reference_app() -> None:
    assert DEFAULT_TARGET == "reference_app.chaos:target"


@pytest.mark.slow(seconds=4)
def test_python_dash_m_runs_the_scenarios_in_forked_workers(tmp_path: Path) -> None:
    # A process of its own (forking from this test session's threads is refused): two
    # workers, and the report still in catalogue order.
    data = tmp_path / "chaos.json"
    names = ["exotel-outage", "openai-outage", "database-loss"]  # catalogue order
    result = subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, "-m", "pytest_hardening", "chaos", *names, "--jobs", "2",
         "--json", str(data)],
        capture_output=True, text=True, check=False,
        timeout=300,  # a worker hung after the fork fails the test, not the whole run
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "3 passed, 0 failed" in result.stdout
    assert "one by one" not in result.stdout  # the reference target's runs share nothing
    assert [s["name"] for s in json.loads(data.read_text())["scenarios"]] == names
    # The processes end quietly: nothing the plugin left behind fails while the interpreter
    # tears its modules down.
    assert "Traceback" not in result.stderr, result.stderr[-3000:]


def test_the_pytest_runner_replays_a_target_by_its_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)  # else the replay starts with it
    from pytest_hardening.chaos import ChaosTarget, assert_scenario_passes
    from tests.chaos import failing_target

    spec = "tests.chaos.failing_target:target"
    target = failing_target.target()
    target = ChaosTarget(target.name, target.catalogue, target.session, spec=spec)
    [scenario] = target.catalogue()
    with pytest.raises(pytest.fail.Exception) as info:
        assert_scenario_passes(scenario, target)
    replay = f"replay with: hardening chaos expects-too-much --seed 0 --target {spec}"
    assert replay in str(info.value)


@pytest.mark.parametrize("given", [None, "vendor:src"], ids=["no PYTHONPATH", "PYTHONPATH"])
def test_a_target_without_a_spec_replays_as_the_test_that_ran_it(
    given: str | None, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A bare `hardening chaos <name>` would run the project's default target, not this one.
    # The run's PYTHONPATH is kept, as by the command's replay: the target's modules may need
    # it (a trial's replay, run as printed, failed with ModuleNotFoundError).
    from pytest_hardening.chaos import assert_scenario_passes
    from tests.chaos import failing_target

    if given is None:
        monkeypatch.delenv("PYTHONPATH", raising=False)
    else:
        monkeypatch.setenv("PYTHONPATH", given.replace(":", os.pathsep))
    target = failing_target.target()
    assert target.spec is None
    [scenario] = target.catalogue()
    with pytest.raises(pytest.fail.Exception) as info:
        assert_scenario_passes(scenario, target)
    prefix = f"PYTHONPATH={given.replace(':', os.pathsep)} " if given else ""
    replay = f"replay with: {prefix}python -m pytest {shlex.quote(request.node.nodeid)}"
    assert replay in str(info.value)


SRC_TARGET = """
from pytest_hardening.chaos import ChaosTarget, ExpectBreaker, HarnessSession, Scenario, send
from tests.chaos import mini_app


def target():
    wrong = Scenario(
        name="expects-too-much",
        description="the payments breaker does not open after one good order",
        method=(send("POST", "/orders", json={"item": "a"}), ExpectBreaker("payments", "OPEN")),
    )
    session = HarnessSession(mini_app.create_app, {}, {"payments": mini_app.PAYMENTS_PROVIDER})
    return ChaosTarget("mini", lambda: [wrong], session, spec="srcchaos.scenarios:target")
"""


@pytest.mark.parametrize(
    ("given", "replayed"),
    [(None, "src"), ("vendor", "src:vendor"), ("vendor:src", "vendor:src")],
    ids=["no PYTHONPATH", "PYTHONPATH kept after it", "PYTHONPATH naming it already"],
)
def test_a_target_found_through_a_src_folder_replays_with_that_folder(
    given: str | None, replayed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest's `pythonpath = ["src"]` (or a conftest) made it importable; the command, run
    # from the project's folder, looks there and in the installed packages only. The run's
    # own PYTHONPATH is kept: the target's modules may import others from it.
    if given is None:
        monkeypatch.delenv("PYTHONPATH", raising=False)
    else:
        monkeypatch.setenv("PYTHONPATH", given.replace(":", os.pathsep))
    package = tmp_path / "src" / "srcchaos"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "scenarios.py").write_text(SRC_TARGET)
    monkeypatch.syspath_prepend(str(tmp_path / "src"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "srcchaos", raising=False)
    from srcchaos.scenarios import target as make_target  # type: ignore[import-not-found]

    from pytest_hardening.chaos import assert_scenario_passes

    target = make_target()
    [scenario] = target.catalogue()
    try:
        with pytest.raises(pytest.fail.Exception) as info:
            assert_scenario_passes(scenario, target)
    finally:
        for name in [n for n in sys.modules if n.partition(".")[0] == "srcchaos"]:
            del sys.modules[name]
    replay = f"PYTHONPATH={replayed.replace(':', os.pathsep)} hardening chaos expects-too-much"
    assert f"replay with: {replay} --seed 0 --target srcchaos.scenarios:target" in str(info.value)


def test_reports_carry_the_replay_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PYTHONPATH", raising=False)
    data, html = tmp_path / "chaos.json", tmp_path / "chaos.html"
    spec = "tests.chaos.failing_target:target"
    args = ["chaos", "--target", spec, "--json", str(data), "--report", str(html)]
    assert runner.invoke(app, args).exit_code == 1
    replay = f"hardening chaos expects-too-much --seed 0 --target {spec}"
    assert json.loads(data.read_text())["scenarios"][0]["replay"] == replay
    assert f"Replay with: <code>{replay}</code>" in html.read_text()


def test_after_the_command_the_hosts_its_scenarios_faked_stay_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As after a pytest session (tests/plugin/test_exit_guard.py): an exit-time sender in the
    # app's libraries must not reach a faked provider for real once the scenarios are done.
    from pytest_hardening._cli._chaos import _guard_faked_hosts
    from pytest_hardening.chaos._target import load_target

    target = load_target(DEFAULT_TARGET)
    assert _guard_faked_hosts(target) is None  # inside a test: this process goes on
    monkeypatch.delenv("PYTEST_CURRENT_TEST")
    guard = _guard_faked_hosts(target)
    assert guard is not None
    try:
        assert guard.covers("api.openai.com")
        assert guard.covers("acme.myshopify.com")
        assert not guard.covers("example.org")
    finally:
        guard.stop()


def test_another_project_that_configured_no_target_is_told_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A trial's: in an app's project without [tool.hardening], `hardening chaos exotel-outage`
    # ran the bundled reference app's catalogue and passed: a CI job that forgot --target
    # would pass green, testing nothing of the project's.
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'other'\n")
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["chaos", "exotel-outage"])
    assert result.exit_code == 2, result.output
    assert "pyproject.toml names no chaos target" in result.output
    assert "--target reference_app.chaos:target" in result.output
    assert "PASS" not in result.output
