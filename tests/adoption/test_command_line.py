"""The `hardening` command for a project of its own: defaults from `[tool.hardening]`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).parent / "projects" / "gateway"


@pytest.fixture
def gateway(tmp_path: Path) -> Path:
    shutil.copytree(PROJECT, tmp_path, dirs_exist_ok=True)
    return tmp_path


#: The installed console script: unlike `python -m`, it starts without the current folder on
#: ``sys.path``, so the project's own modules must be found from its pyproject.toml.
COMMAND = Path(sys.executable).with_name("hardening")


def hardening(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Without the caller's PYTHONPATH, which a replay line would start with.
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_") and k != "PYTHONPATH"
    }
    return subprocess.run(  # noqa: S603 - our own command
        [str(COMMAND), *args],
        cwd=cwd,
        env={**env, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.slow(seconds=4)
def test_chaos_runs_the_projects_catalogue_and_a_failure_replays(gateway: Path) -> None:
    run = hardening(gateway, "chaos", "users-outage", "--jobs", "1")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "PASS users-outage" in run.stdout
    assert "users CLOSED" in run.stdout

    failed = hardening(gateway, "chaos", "expects-an-open-breaker", "--seed", "3", "--jobs", "1")
    assert failed.returncode == 1
    replay = "hardening chaos expects-an-open-breaker --seed 3 --target chaos_scenarios:target"
    assert f"replay with: {replay}" in failed.stdout
    assert "last app log lines (of 1):" in failed.stdout
    assert "WARNING gateway: users service failed: HTTPStatusError" in failed.stdout
    again = hardening(gateway, *replay.split()[1:])
    assert again.returncode == 1  # the same failure, not "unknown scenario"
    assert "FAIL expects-an-open-breaker" in again.stdout


@pytest.mark.slow
def test_check_config_builds_the_projects_app_and_does_not_demand_app_env(gateway: Path) -> None:
    (gateway / "good.env").write_text("GATEWAY_API_KEY=a-long-enough-production-key\n")
    (gateway / "empty.env").write_text("# nothing\n")
    ok = hardening(gateway, "check-config", "--env-file", "good.env")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "APP_ENV" not in ok.stdout
    refused = hardening(gateway, "check-config", "--env-file", "empty.env")
    assert refused.returncode == 1
    assert "refused to build" in refused.stdout
    assert "api_key" in refused.stdout.lower()
    validated = hardening(
        gateway, "check-config", "--env-file", "good.env", "--validator", "chaos_scenarios:validate"
    )
    assert validated.returncode == 0, validated.stdout
