"""The ``hardening`` command (typer + rich): chaos, check-config, serve.

Defaults come from the project's ``[tool.hardening]`` table (see :mod:`._project`); the
reference app is the default only for a project that configures nothing.
"""

from __future__ import annotations

import atexit
import gc
import os
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from pytest_hardening._cli._config import (
    EnvFileError,
    audit_findings,
    build_validator,
    load_validator,
    read_env_file,
    release_problems,
)
from pytest_hardening._cli._project import REFERENCE, ProjectConfig, project_config

# The chaos engine (respx, freezegun, the app) is imported by the chaos command only, so that
# --help and check-config start fast.
DEFAULT_TARGET = "reference_app.chaos:target"  # the defaults of a project configuring nothing
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
        str | None,
        typer.Option(
            help="Catalogue to run, as package.module:attribute (default: [tool.hardening] "
            "target in pyproject.toml, else the reference app's)."
        ),
    ] = None,
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
    if target is None:
        target = _project().target
    if target is None:
        console.print(
            'no chaos target: set `target = "pkg.module:target"` in [tool.hardening] of '
            "pyproject.toml, or pass --target"
        )
        raise typer.Exit(2)
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
        try:
            warm_up()
        except Exception as exc:  # the target cannot set up any run: say so, once
            console.print(f"[red]chaos target {target!r} cannot set up a run: {exc!r}[/red]")
            raise typer.Exit(2) from None
    started = time.perf_counter()
    try:
        results = run_catalogue(
            console, chaos_target, scenarios or [], seed, jobs=jobs, replay_target=target
        )
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
        str | None,
        typer.Option(
            help="Validation function, as package.module:function (default: [tool.hardening] "
            "validator; else building the app with [tool.hardening] factory)."
        ),
    ] = None,
    audit: Annotated[
        bool,
        typer.Option(
            "--audit",
            help="Also build the app with every unsafe variant of this env (drop each variable, "
            "http://, localhost, placeholder, malformed URLs, secrets at a published default or "
            "one character, DEBUG on, CORS origins '*') and report any it accepts. Slow.",
        ),
    ] = False,
    factory: Annotated[
        str | None,
        typer.Option(
            help="App factory for --audit, as package.module:function (default: "
            "[tool.hardening] factory)."
        ),
    ] = None,
) -> None:
    """Check a production configuration before release, without starting the app.

    Prints every problem, one per line, naming the variable (never a value). Exits 1 if any.
    """
    project = _project()
    factory = factory or project.factory
    validator = validator or project.validator
    try:
        env = read_env_file(env_file) if env_file is not None else dict(os.environ)
    except EnvFileError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(1) from None
    if validator is not None:
        check = load_validator(validator)
    elif factory is not None:
        check = build_validator(factory)
    else:
        typer.echo(
            "nothing to check with: set `validator` or `factory` in [tool.hardening] of "
            "pyproject.toml, or pass --validator",
            err=True,
        )
        raise typer.Exit(2)
    # APP_ENV=production is the reference app's rule; another validator decides for itself.
    problems = release_problems(env, check, require_production=validator == REFERENCE.validator)
    source = str(env_file) if env_file is not None else "the current environment"
    if audit and not problems:
        if factory is None:
            typer.echo("--audit builds the app: set [tool.hardening] factory", err=True)
            raise typer.Exit(2)
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
        str | None,
        typer.Option(
            help="App factory, as package.module:function (default: [tool.hardening] factory, "
            "else the reference app)."
        ),
    ] = None,
) -> None:
    """Serve the app with uvicorn (development mode unless the env says otherwise).

    A configuration the app refuses is one line on stderr and exit status 2; SIGTERM stops the
    server gracefully with exit status 0.
    """
    try:
        import uvicorn  # only this command needs the server
    except ImportError:
        typer.echo("hardening serve needs uvicorn: pip install uvicorn", err=True)
        raise typer.Exit(2) from None
    from pytest_hardening._config import load_factory

    spec = factory or _project().factory or REFERENCE.factory
    assert spec is not None
    if env_file is not None:
        try:
            os.environ.update(read_env_file(env_file))
        except EnvFileError as error:
            typer.echo(str(error), err=True)
            raise typer.Exit(2) from None
    os.environ.setdefault("APP_ENV", "development")
    mode = os.environ.get("APP_ENV", "development")
    try:
        asgi_app = load_factory(spec)()
    except Exception as error:  # the app refused its configuration: say so in one line
        text = " ".join(str(error).split()) or type(error).__name__
        typer.echo(f"hardening serve: {spec} refused to start: {text}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"hardening serve: {spec} in {mode} mode on http://{host}:{port}", err=True)
    # uvicorn shuts down gracefully on SIGTERM, then re-raises the signal: that second
    # delivery ends the process with status 0 (a requested stop) instead of 143.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    uvicorn.run(asgi_app, host=host, port=port)


def _project() -> ProjectConfig:
    try:
        config = project_config()
    except ValueError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    if config.source is not None:
        # The project's modules (factory, validator, target) import from its own folder, also
        # when the command runs in a subfolder of the project.
        _importable(str(config.source.parent))
    return config


def _importable(folder: str) -> None:
    """Modules in ``folder`` import (it goes first on ``sys.path``, once)."""
    if folder not in sys.path:
        sys.path.insert(0, folder)


def main() -> None:
    """Console-script entry point."""
    # As under `python -m pytest_hardening` (and uvicorn's --app-dir default): the project's
    # modules named on the command line import from the current folder.
    _importable(os.getcwd())
    # A command's process ends with the whole stack in its heap (the AI SDKs' pydantic models
    # alone are most of a second of final garbage collection): frozen at exit, the heap is
    # skipped by those passes; atexit handlers still run and output is still flushed.
    atexit.register(gc.freeze)
    app()
