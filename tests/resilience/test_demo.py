"""The runnable demonstration: ``python -m reference_app.resilience``."""

from __future__ import annotations

import subprocess
import sys

from reference_app.resilience._demo import demo_timeline, main


def test_demo_timeline_goes_through_the_whole_cycle() -> None:
    lines = demo_timeline()
    transitions = [line for line in lines if "→" in line]
    assert transitions == [
        "t=+4.0s CLOSED → OPEN (5 consecutive failures)",
        "t=+64.0s OPEN → HALF_OPEN (open timeout elapsed)",
        "t=+65.0s HALF_OPEN → CLOSED (2 probe successes)",
    ]
    assert any("rejected, retry in 59s" in line for line in lines)
    assert lines[-1] == "final state: CLOSED"


def test_main_writes_every_line() -> None:
    out: list[str] = []
    assert main(out.append) == 0
    assert out == demo_timeline()


def test_module_runs_as_a_script() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reference_app.resilience"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "OPEN → HALF_OPEN (open timeout elapsed)" in done.stdout
