"""``hardening chaos``: run a chaos catalogue in-process and report it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pytest_hardening.chaos import (
    ChaosTarget,
    ScenarioResult,
    render_html,
    render_result,
    run_scenario,
    select,
)


def run_catalogue(
    console: Console, target: ChaosTarget, names: Sequence[str], seed: int
) -> list[ScenarioResult]:
    scenarios = select(target.catalogue(), names)
    results: list[ScenarioResult] = []
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("chaos", total=len(scenarios))
        for scenario in scenarios:
            progress.update(task, description=f"running {scenario.name}")
            result = run_scenario(scenario, target.session, seed=seed)
            results.append(result)
            progress.console.print(render_result(result))
            progress.advance(task)
    return results


def write_reports(
    results: Sequence[ScenarioResult], *, html: Path | None, json_path: Path | None, title: str
) -> None:
    if html is not None:
        html.write_text(render_html(results, title=title), encoding="utf-8")
    if json_path is not None:
        payload = {
            "passed": all(r.passed for r in results),
            "scenarios": [r.to_dict() for r in results],
        }
        json_path.write_text(json.dumps(payload, indent=2), encoding="utf-8")
