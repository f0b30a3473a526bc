"""``hardening chaos``: run a chaos catalogue in-process and report it."""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import queue as queue_module
import threading
import time
from collections.abc import Generator, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from pytest_hardening.chaos import ScenarioResult, render_html, run_scenarios, select
from pytest_hardening.chaos._scenario import Scenario
from pytest_hardening.chaos._target import ChaosTarget, load_target
from pytest_hardening.chaos._text import render_result

if TYPE_CHECKING:
    from pytest_hardening._exit_guard import ExitGuard

#: How long forking waits for threads that have ended to be gone from the OS.
_ALONE_WAIT_SECONDS = 1.0

#: Set in each forked worker to its number (0, 1, ...): a target that stores on disk names its
#: files after it, so that workers share none (and may say ``parallel_safe=True``).
WORKER_VARIABLE = "HARDENING_CHAOS_WORKER"


def _results(
    target: ChaosTarget, names: Sequence[str], seed: int, jobs: int
) -> Generator[ScenarioResult, None, None]:
    """The results in catalogue order. Workers, when there are any, are forked here, at the
    call, not at the first ``next``: before the caller starts a thread of its own (rich's
    progress refresher)."""
    scenarios = select(target.catalogue(), names)
    if jobs > 1 and len(scenarios) > 1 and _can_fork():
        return _forked(target, scenarios, seed, min(jobs, len(scenarios)))
    return _closable(run_scenarios(scenarios, target.session, seed=seed))


def _closable(results: Iterator[ScenarioResult]) -> Generator[ScenarioResult, None, None]:
    yield from results  # closing this closes ``results`` (its kept app is stopped there)


def _can_fork() -> bool:
    """Workers are forked only from a process with no other thread. A fork copies just the
    calling thread: a lock another thread holds stays held in the child, and an event loop
    another thread runs shares its epoll instance with the child. Called from such a process
    (a test session, a running app), or without fork (macOS/Windows spawn would re-import
    everything per worker), the scenarios run one by one."""
    if threading.active_count() != 1 or "fork" not in multiprocessing.get_all_start_methods():
        return False
    # A thread Python counts as ended may still be running its C-level exit (OpenSSL frees
    # its per-thread state under a global lock): forked then, the child hangs at its first
    # TLS context. Where the OS lists threads, wait a moment for it to be alone.
    tasks = Path("/proc/self/task")
    if not tasks.is_dir():
        return True
    deadline = time.monotonic() + _ALONE_WAIT_SECONDS
    while len(os.listdir(tasks)) > 1:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True


def _forked(
    target: ChaosTarget, scenarios: Sequence[Scenario], seed: int, jobs: int
) -> Generator[ScenarioResult, None, None]:
    """Fork ``jobs`` workers now; the returned iterator yields their results in catalogue
    order. Each worker takes the next scenario not yet taken when it is free, so one slow
    scenario does not leave a worker with a longer share.

    Workers inherit the loaded target itself (nothing is pickled on the way in): the imported
    app, and one session per worker whose clocks share what they learn (and that keeps its
    app between its scenarios when it can).
    """
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    next_index = context.Value("i", 0)  # the next scenario no worker has taken

    def work(number: int) -> None:
        os.environ[WORKER_VARIABLE] = str(number)  # this process's own: it was forked
        taken: list[int] = []

        def take() -> Iterator[Scenario]:
            while True:
                with next_index.get_lock():
                    index = next_index.value
                    next_index.value += 1
                if index >= len(scenarios):
                    return
                taken.append(index)
                yield scenarios[index]

        # run_scenarios takes the next one only after yielding this one's result
        for result in run_scenarios(take(), target.session, seed=seed):  # app stops at the end
            queue.put((taken[-1], result))

    workers = [context.Process(target=work, args=(n,), daemon=True) for n in range(jobs)]
    for worker in workers:
        worker.start()
    return _in_order(queue, workers, len(scenarios))


def _in_order(
    queue: Any, workers: Sequence[multiprocessing.process.BaseProcess], count: int
) -> Generator[ScenarioResult, None, None]:
    done: dict[int, ScenarioResult] = {}
    try:
        for index in range(count):
            while index not in done:
                try:
                    got, result = queue.get(timeout=1.0)
                except queue_module.Empty:
                    if not any(w.is_alive() for w in workers) and queue.empty():
                        raise RuntimeError("chaos workers exited without a result") from None
                    continue
                done[got] = result
            yield done.pop(index)
    finally:
        for worker in workers:
            worker.join(timeout=5.0)
            if worker.is_alive():
                worker.terminate()


def run_catalogue(
    console: Console,
    spec: str | ChaosTarget,
    names: Sequence[str],
    seed: int,
    *,
    jobs: int = 1,
    replay_target: str | None = None,
) -> list[ScenarioResult]:
    """Run the selected scenarios (every one when ``names`` is empty), printing each result."""
    target = load_target(spec) if isinstance(spec, str) else spec
    scenarios = [s.name for s in select(target.catalogue(), names)]
    if jobs > 1 and len(scenarios) > 1 and not target.parallel_safe:
        # Workers share the app's files and servers: parallel, a verdict could depend on timing.
        console.print(
            f"[dim]running the scenarios one by one: target {target.name!r} does not say its "
            "runs share nothing (ChaosTarget(..., parallel_safe=True) lets --jobs run them in "
            'parallel; see docs/chaos.md, "In parallel")[/dim]'
        )
        jobs = 1
    results: list[ScenarioResult] = []
    stream = _results(target, scenarios, seed, jobs)
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    # closed on the way out: a sequential run's kept app is stopped there
    with (
        contextlib.closing(stream),
        Progress(*columns, console=console, transient=True) as progress,
    ):
        task = progress.add_task("chaos", total=len(scenarios))
        for name in scenarios:
            progress.update(task, description=f"running {name}")
            result = next(stream)
            # the printed replay command names the catalogue it came from
            result.target = spec if isinstance(spec, str) else replay_target
            result.test = None  # a run of this command replays as one, also under pytest
            results.append(result)
            progress.console.print(render_result(result))
            progress.advance(task)
    _guard_faked_hosts(target)
    return results


def _guard_faked_hosts(target: ChaosTarget) -> ExitGuard | None:
    """As after a pytest session: a library's exit-time sender (a trace exporter) must not
    reach a host the scenarios faked, with what they made. Not inside a test (the command
    run in-process by one): that process goes on."""
    from pytest_hardening._exit_guard import ExitGuard, faked_hosts
    from pytest_hardening._providers import normalize_providers

    providers = getattr(target.session, "providers", None)
    if not providers or "PYTEST_CURRENT_TEST" in os.environ:
        return None
    return ExitGuard(faked_hosts(normalize_providers(providers))).start()


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
