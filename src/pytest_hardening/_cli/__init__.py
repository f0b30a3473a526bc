"""The ``hardening`` command (click + rich): chaos, check-config, serve.

Defaults come from the project's ``[tool.hardening]`` table (see :mod:`._project`); the
reference app is the default only for a project that configures nothing (for check-config,
only outside another project).

click, not typer (built on click): typer depends on pydantic 2, and the plugin installs beside
apps pinned to any FastAPI version, pydantic 1 included; click needs no other package (but
colorama on Windows).
"""

from __future__ import annotations

import atexit
import gc
import os
import signal
import sys
import time
from pathlib import Path

import click
from click.exceptions import Exit
from rich.console import Console
from rich.markup import escape

from pytest_hardening._cli._check_config import check_config
from pytest_hardening._cli._common import (
    Argument,
    Command,
    env_file_option,
    importable,
    no_app,
    project,
    raised_at,
)
from pytest_hardening._cli._env_file import EnvFileError, read_env_file
from pytest_hardening._cli._project import REFERENCE, another_project

# The chaos engine (respx, freezegun, the app) is imported by the chaos command only, so that
# --help and check-config start fast.
DEFAULT_TARGET = "reference_app.chaos:target"  # the defaults of a project configuring nothing
DEFAULT_JOBS = min(os.cpu_count() or 1, 4)

__all__ = ["app", "main"]


@click.group(
    name="hardening",
    help="Chaos scenarios, production-config checks and a dev server for hardened backends.",
    no_args_is_help=True,
    context_settings={"show_default": True},
)
def app() -> None:
    from pytest_hardening._requirements import requirements_message, unmet_requirements

    unmet = unmet_requirements()
    if unmet:
        click.echo(f"hardening: {requirements_message(unmet)}", err=True)
        raise Exit(2)


def _note_old_sdks(command: str) -> None:
    """Say so when an installed SDK cannot build its client beside the plugin's httpx: the
    app's first client would fail with a bare TypeError (the scenarios, the server's startup)."""
    from pytest_hardening._requirements import old_sdks, old_sdks_message

    old = old_sdks()
    if old:
        click.echo(f"hardening {command}: note: {old_sdks_message(old)}", err=True)


@app.command(cls=Command)
@click.argument(
    "scenarios",
    nargs=-1,
    cls=Argument,
    help_text="Scenario names (default: the whole catalogue).",
)
@click.option("--seed", type=int, default=0, help="Seed for every random choice; replays a run.")
@click.option(
    "--report",
    type=click.Path(path_type=Path),
    default=None,
    help="Write a self-contained HTML report here.",
)
@click.option(
    "--json",
    "json_out",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the results as JSON here.",
)
@click.option(
    "--target",
    default=None,
    help="Catalogue to run, as package.module:attribute: a ChaosTarget or a function "
    "returning one (default: [tool.hardening] target in pyproject.toml; a project whose "
    "pyproject.toml names none exits 2; outside any project, the reference app's).",
)
@click.option("--list", "list_only", is_flag=True, help="List the scenarios and exit.")
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=1),
    default=DEFAULT_JOBS,
    help="Run scenarios in this many worker processes (default: CPUs, at most 4), for a "
    "target whose runs share nothing (ChaosTarget parallel_safe=True); others run one by one.",
)
def chaos(
    scenarios: tuple[str, ...],
    seed: int,
    report: Path | None,
    json_out: Path | None,
    target: str | None,
    list_only: bool,
    jobs: int,
) -> None:
    """Run chaos scenarios in-process (no network, virtual time) and print their timelines.

    Exits 1 if any scenario failed.
    """
    from pytest_hardening._cli._chaos import run_catalogue, write_reports
    from pytest_hardening.chaos._target import load_target
    from pytest_hardening.chaos._text import summary_table

    _note_old_sdks("chaos")
    console = Console(soft_wrap=True)  # timelines stay on one line in CI logs
    if not console.is_terminal:
        console.width = max(console.width, 120)  # logs have no width; 80 squeezes the table
    if target is None:
        config = project()
        target = config.target
        other = another_project() if config is REFERENCE else None
        if other is not None:
            # Another project's CI running the bundled catalogue would pass green and test
            # nothing of that project's: say what to configure, as check-config does.
            console.print(
                f"hardening chaos: {escape(str(other))} names no chaos target: set `target = "
                '"pkg.module:target"` in its \\[tool.hardening], or pass --target (the bundled '
                f"reference app's catalogue: --target {DEFAULT_TARGET})"
            )
            raise Exit(2)
    if target is None:
        console.print(
            'no chaos target: set `target = "pkg.module:target"` in [tool.hardening] of '
            "pyproject.toml, or pass --target"
        )
        raise Exit(2)
    try:
        chaos_target = load_target(target)
    except (ImportError, AttributeError, TypeError, ValueError, SyntaxError) as exc:
        # A typo in the target's module is one line too: the message names its file and line.
        if isinstance(exc, ImportError) and target == DEFAULT_TARGET:
            no_app("chaos", exc, "--target package.module:target", "target")
        console.print(f"[red]cannot load chaos target {target!r}: {exc}[/red]")
        raise Exit(2) from None
    if list_only:
        for scenario in chaos_target.catalogue():
            console.print(f"[bold]{scenario.name}[/bold]  {scenario.description}")
        return
    known = {scenario.name for scenario in chaos_target.catalogue()}
    unknown = [name for name in scenarios if name not in known]
    if unknown:  # before the warm-up builds the app: a typo costs no startup output
        console.print(f"[red]unknown scenario(s) {unknown}; known: {sorted(known)}[/red]")
        raise Exit(2)
    warm_up = getattr(chaos_target.session, "warm_up", None)
    if callable(warm_up):  # one-off imports and scans, like loading the target: not timed
        try:
            warm_up()
        except Exception as exc:  # the target cannot set up any run: say so, once
            why = escape(raised_at(exc))  # the app's code may hold [brackets]
            console.print(f"[red]chaos target {target!r} cannot set up a run: {why}[/red]")
            raise Exit(2) from None
    started = time.perf_counter()
    try:
        results = run_catalogue(
            console, chaos_target, list(scenarios), seed, jobs=jobs, replay_target=target
        )
    except KeyError as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise Exit(2) from None
    elapsed = time.perf_counter() - started
    console.print(summary_table(results))
    failed = [r.name for r in results if not r.passed]
    console.print(
        f"{len(results) - len(failed)} passed, {len(failed)} failed in {elapsed:.2f}s wall "
        f"(seed {seed})"
    )
    write_reports(results, html=report, json_path=json_out, title=f"Chaos: {chaos_target.name}")
    for path in (report, json_out):
        if path is not None:
            console.print(f"wrote {path}")
    if failed:
        raise Exit(1)


@app.command()
@click.option("--host", default="127.0.0.1", help="Interface to bind.")
@click.option("--port", type=int, default=8080, help="Port to listen on.")
@env_file_option("dotenv file to load.")
@click.option(
    "--factory",
    default=None,
    help="App factory, as package.module:function, or an app made at import, as "
    "package.module:app (default: [tool.hardening] factory, "
    "else the reference app).",
)
def serve(host: str, port: int, env_file: Path | None, factory: str | None) -> None:
    """Serve the app with uvicorn (development mode unless the env says otherwise).

    A configuration the app refuses is one line on stderr and exit status 2; SIGTERM stops the
    server gracefully with exit status 0.
    """
    try:
        import uvicorn  # only this command needs the server
    except ImportError:
        click.echo("hardening serve needs uvicorn: pip install uvicorn", err=True)
        raise Exit(2) from None
    from pytest_hardening._app import app_of
    from pytest_hardening._cli._env_file import mode_of

    _note_old_sdks("serve")
    from pytest_hardening._config import load_object
    from pytest_hardening._secrets import mask, refusal_lines, secret_values

    spec = factory or project().factory or REFERENCE.factory
    assert spec is not None
    if env_file is not None:
        try:
            os.environ.update(read_env_file(env_file))
        except EnvFileError as error:
            click.echo(str(error), err=True)
            raise Exit(2) from None
    if mode_of(os.environ) is None:
        os.environ["APP_ENV"] = "development"
    mode = (mode_of(os.environ) or ("APP_ENV", "development"))[1]
    try:
        asgi_app, _ = app_of(load_object(spec, what="app factory"))
    except Exception as error:  # the app refused its configuration: say so in one line
        if isinstance(error, ImportError) and spec == REFERENCE.factory:
            no_app("serve", error, "--factory package.module:attribute", "factory")
        # As check-config words it: pydantic's errors without the input they echo, and no
        # secret of the environment, whatever the app's message quotes.
        text = "; ".join(refusal_lines(error))
        text = mask(text, secret_values(dict(os.environ), min_length=4))
        click.echo(f"hardening serve: {spec} refused to start: {text}", err=True)
        raise Exit(2) from None
    click.echo(f"hardening serve: {spec} in {mode} mode on http://{host}:{port}", err=True)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal: that second
    # delivery ends the process with status 0 (a requested stop) instead of 143.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(asgi_app, host=host, port=port)


app.add_command(check_config)


def main() -> None:
    """Console-script entry point."""
    # As under `python -m pytest_hardening` (and uvicorn's --app-dir default): the project's
    # modules named on the command line import from the current folder.
    importable(os.getcwd())
    # A command's process ends with the whole stack in its heap (the AI SDKs' pydantic models
    # alone are most of a second of final garbage collection): frozen at exit, the heap is
    # skipped by those passes; atexit handlers still run and output is still flushed.
    atexit.register(gc.freeze)
    app()
