"""``hardening chaos``: run a chaos catalogue in-process and report it."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator, Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pytest_hardening.chaos import ScenarioResult, render_html, run_scenario, select
from pytest_hardening.chaos._target import load_target
from pytest_hardening.chaos._text import render_result


def _run_named(job: tuple[str, str, int]) -> ScenarioResult:
    """One scenario by name (in a worker process: the target is loaded there, not pickled)."""
    spec, name, seed = job
    target = load_target(spec)
    [scenario] = select(target.catalogue(), [name])
    result = run_scenario(scenario, target.session, seed=seed)
    result.target = spec  # the printed replay command names the catalogue it came from
    return result


def _results(spec: str, names: Sequence[str], seed: int, jobs: int) -> Iterator[ScenarioResult]:
    work = [(spec, name, seed) for name in names]
    # Workers are forked up front, before any other thread exists (rich's progress refresher
    # starts later), and inherit the imported app: no second start-up cost. Without fork
    # (macOS/Windows spawn would re-import everything per worker) the run stays sequential.
    if jobs > 1 and len(work) > 1 and "fork" in multiprocessing.get_all_start_methods():
        with multiprocessing.get_context("fork").Pool(min(jobs, len(work))) as pool:
            yield from pool.imap(_run_named, work)  # in catalogue order
    else:
        yield from map(_run_named, work)


def run_catalogue(
    console: Console, spec: str, names: Sequence[str], seed: int, *, jobs: int = 1
) -> list[ScenarioResult]:
    """Run the selected scenarios (every one when ``names`` is empty), printing each result."""
    scenarios = [s.name for s in select(load_target(spec).catalogue(), names)]
    results: list[ScenarioResult] = []
    stream = _results(spec, scenarios, seed, jobs)
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("chaos", total=len(scenarios))
        for name in scenarios:
            progress.update(task, description=f"running {name}")
            result = next(stream)
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
