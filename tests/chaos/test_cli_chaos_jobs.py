"""``hardening chaos --jobs``: parallel workers never change a verdict.

Workers are forked with the same environment, so an app storing in a file shares it between
them: one worker's reset empties the rows another is checking. Only a target that says its runs
share nothing runs in parallel; each worker is told its number to name its files after.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


def _chaos(target: str, notes_dir: Path) -> subprocess.CompletedProcess[str]:
    # A process of its own: forking from this test session's threads is refused.
    return subprocess.run(  # noqa: S603 (this interpreter, fixed arguments)
        [sys.executable, "-m", "pytest_hardening", "chaos", "--jobs", "3",
         "--target", f"tests.chaos.disk_target:{target}"],
        capture_output=True, text=True, check=False, timeout=300,
        env={**os.environ, "NOTES_DIR": str(notes_dir)},
    )  # fmt: skip


def test_a_target_that_says_nothing_runs_one_by_one_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # In-process: one by one, nothing forks (in parallel, resets of other workers made notes
    # answered 201 vanish: "LOST").
    from click.testing import CliRunner

    from pytest_hardening._cli import app

    monkeypatch.setenv("NOTES_DIR", str(tmp_path))
    target = "tests.chaos.disk_target:shared"
    result = CliRunner().invoke(app, ["chaos", "--jobs", "3", "--target", target])
    assert result.exit_code == 0, result.output[-3000:]
    assert "6 passed, 0 failed" in result.output
    assert "running the scenarios one by one: target 'notes' does not say" in result.output
    assert "parallel_safe=True" in result.output  # how to opt in
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


@pytest.mark.slow(seconds=4)
def test_a_parallel_safe_target_runs_in_workers_that_know_their_number(tmp_path: Path) -> None:
    result = _chaos("per_worker", tmp_path)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "6 passed, 0 failed" in result.stdout, result.stdout[-3000:]
    assert "one by one" not in result.stdout
    # the warm-up's build in the parent, then one file per worker that took a scenario
    files = {p.name for p in tmp_path.iterdir()}
    assert "notes-main.db" in files
    assert len(files & {"notes-0.db", "notes-1.db", "notes-2.db"}) >= 2, files
