"""The ``hardening`` command (typer + rich): chaos, check-config, serve."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pytest_hardening._cli._config import (
    DEFAULT_VALIDATOR,
    audit_findings,
    load_validator,
    read_env_file,
    release_problems,
)

# The chaos engine (respx, freezegun, the app) is imported by the chaos command only, so that
# --help and check-config start fast.
DEFAULT_TARGET = "reference_app.chaos:target"
DEFAULT_FACTORY = "reference_app:create_app"
DEFAULT_JOBS = min(os.cpu_count() or 1, 4)

__all__ = ["app", "main"]

app = typer.Typer(
    name="hardening",
    help="Chaos scenarios, production-config checks and a dev server for hardened backends.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)


@app.command()
def chaos(
    scenarios: Annotated[
        list[str] | None, typer.Argument(help="Scenario names (default: the whole catalogue).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed for every random choice; replays a run.")] = 0,
    report: Annotated[
        Path | None, typer.Option("--report", help="Write a self-contained HTML report here.")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the results as JSON here.")
    ] = None,
    target: Annotated[
        str, typer.Option(help="Catalogue to run, as package.module:attribute.")
    ] = DEFAULT_TARGET,
    list_only: Annotated[bool, typer.Option("--list", help="List the scenarios and exit.")] = False,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=1,
            help="Run scenarios in this many worker processes (default: CPUs, at most 4).",
        ),
    ] = DEFAULT_JOBS,
) -> None:
    """Run chaos scenarios in-process (no network, virtual time) and print their timelines.

    Exits 1 if any scenario failed.
    """
    from pytest_hardening._cli._chaos import run_catalogue, write_reports
    from pytest_hardening.chaos._target import load_target
    from pytest_hardening.chaos._text import summary_table

    console = Console(soft_wrap=True)  # timelines stay on one line in CI logs
    if not console.is_terminal:
        console.width = max(console.width, 120)  # logs have no width; 80 squeezes the table
    try:
        chaos_target = load_target(target)
    except (ImportError, AttributeError, TypeError, ValueError) as exc:
        console.print(f"[red]cannot load chaos target {target!r}: {exc}[/red]")
        raise typer.Exit(2) from None
    if list_only:
        for scenario in chaos_target.catalogue():
            console.print(f"[bold]{scenario.name}[/bold]  {scenario.description}")
        return
    warm_up = getattr(chaos_target.session, "warm_up", None)
    if callable(warm_up):  # one-off imports and scans, like loading the target: not timed
        warm_up()
    started = time.perf_counter()
    try:
        results = run_catalogue(console, chaos_target, scenarios or [], seed, jobs=jobs)
    except KeyError as exc:
        console.print(f"[red]{exc.args[0]}[/red]")
        raise typer.Exit(2) from None
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
        raise typer.Exit(1)


@app.command("check-config")
def check_config(
    env_file: Annotated[
        Path | None,
        typer.Option(
            "--env-file",
            exists=True,
            dir_okay=False,
            help="dotenv file to check (default: the current environment).",
        ),
    ] = None,
    validator: Annotated[
        str, typer.Option(help="Validation function, as package.module:function.")
    ] = DEFAULT_VALIDATOR,
    audit: Annotated[
        bool,
        typer.Option(
            "--audit",
            help="Also build the app with every unsafe variant of this env (drop each variable, "
            "http://, localhost, placeholder, malformed URLs) and report any it accepts. Slow.",
        ),
    ] = False,
    factory: Annotated[
        str, typer.Option(help="App factory for --audit, as package.module:function.")
    ] = DEFAULT_FACTORY,
) -> None:
    """Check a production configuration before release, without starting the app.

    Prints every problem, one per line, naming the variable (never a value). Exits 1 if any.
    """
    env = read_env_file(env_file) if env_file is not None else dict(os.environ)
    problems = release_problems(env, load_validator(validator))
    source = str(env_file) if env_file is not None else "the current environment"
    if audit and not problems:
        tried, findings = audit_findings(env, factory=factory, validator=validator)
        problems = [f"audit: {finding}" for finding in findings]
        typer.echo(f"audit: {tried} unsafe variants tried, {len(findings)} finding(s)")
    if problems:
        for line in problems:
            typer.echo(line)
        typer.echo(f"{len(problems)} problem(s) in {source}: not safe to release.", err=True)
        raise typer.Exit(1)
    typer.echo(f"{source}: production configuration OK")


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    env_file: Annotated[
        Path | None,
        typer.Option("--env-file", exists=True, dir_okay=False, help="dotenv file to load."),
    ] = None,
    factory: Annotated[
        str, typer.Option(help="App factory, as package.module:function.")
    ] = DEFAULT_FACTORY,
) -> None:
    """Serve the reference app with uvicorn (development mode unless the env says otherwise)."""
    import uvicorn  # only this command needs the server

    if env_file is not None:
        os.environ.update(read_env_file(env_file))
    os.environ.setdefault("APP_ENV", "development")
    uvicorn.run(factory, factory=True, host=host, port=port)


def main() -> None:
    """Console-script entry point."""
    app()
