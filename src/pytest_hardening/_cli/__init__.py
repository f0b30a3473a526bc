"""The ``hardening`` command (click + rich): chaos, check-config, serve.

Defaults come from the project's ``[tool.hardening]`` table (see :mod:`._project`); the
reference app is the default only for a project that configures nothing.

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
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from click.exceptions import Exit
from rich.console import Console

from pytest_hardening._cli._config import (
    EnvFileError,
    audit_findings,
    build_validator,
    development_mode,
    env_notes,
    load_validator,
    read_env_file,
    release_problems,
    shell_variables,
)
from pytest_hardening._cli._project import REFERENCE, ProjectConfig, project_config
from pytest_hardening._config import SpecError

# The chaos engine (respx, freezegun, the app) is imported by the chaos command only, so that
# --help and check-config start fast.
DEFAULT_TARGET = "reference_app.chaos:target"  # the defaults of a project configuring nothing
DEFAULT_JOBS = min(os.cpu_count() or 1, 4)

__all__ = ["app", "main"]


class _Argument(click.Argument):
    """A positional argument with a help text (click has its own only from 8.5 on)."""

    def __init__(self, param_decls: Sequence[str], *, help_text: str, **attrs: Any) -> None:
        super().__init__(param_decls, **attrs)
        self.help_text = help_text


class _Command(click.Command):
    """Help lists the arguments, with their help, before the options."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (" ".join(param.get_usage_pieces(ctx)), param.help_text)
            for param in self.get_params(ctx)
            if isinstance(param, _Argument)
        ]
        if rows:
            with formatter.section("Arguments"):
                formatter.write_dl(rows)
        super().format_options(ctx, formatter)


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


@app.command(cls=_Command)
@click.argument(
    "scenarios",
    nargs=-1,
    cls=_Argument,
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
    help="Catalogue to run, as package.module:attribute (default: [tool.hardening] "
    "target in pyproject.toml, else the reference app's).",
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
        raise Exit(2)
    try:
        chaos_target = load_target(target)
    except (ImportError, AttributeError, TypeError, ValueError, SyntaxError) as exc:
        # A typo in the target's module is one line too: the message names its file and line.
        if isinstance(exc, ModuleNotFoundError) and target == DEFAULT_TARGET:
            _no_app("chaos", exc, "--target package.module:target", "target")
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
            console.print(f"[red]chaos target {target!r} cannot set up a run: {exc!r}[/red]")
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


F = TypeVar("F", bound=Callable[..., Any])


def _env_file_option(help: str) -> Callable[[F], F]:
    return click.option(
        "--env-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help=help,
    )


@app.command("check-config")
@_env_file_option("dotenv file to check (default: the current environment).")
@click.option(
    "--validator",
    default=None,
    help="Validation function, as package.module:function (default: [tool.hardening] "
    "validator; else building the app of --factory or [tool.hardening] factory; else the "
    "reference app's rules).",
)
@click.option(
    "--audit",
    is_flag=True,
    help="Also build the app with every unsafe variant of this env (drop each variable, "
    "http://, localhost, placeholder, malformed URLs, secrets at a published default or "
    "one character, DEBUG on, protections such as COOKIE_SECURE off, CORS origins '*') and "
    "report any it accepts. Slow.",
)
@click.option(
    "--factory",
    default=None,
    help="App factory, as package.module:function, or an app made at import, as "
    "package.module:app: built, its modules imported afresh under the env, to check the env "
    "when no validator is given, and by --audit (default: [tool.hardening] factory, else the "
    "reference app).",
)
@click.option(
    "--optional",
    "optional",
    multiple=True,
    metavar="NAME",
    help="A variable the app may run without in production (its default is safe there): "
    "--audit does not drop it. Repeatable, or comma-separated; the app's PRODUCTION_OPTIONAL "
    "names count too.",
)
def check_config(
    env_file: Path | None,
    validator: str | None,
    audit: bool,
    factory: str | None,
    optional: tuple[str, ...],
) -> None:
    """Check a production configuration before release, without starting the app.

    Prints every problem, one per line, naming the variable (never a value). Exits 1 if any.

    The env is checked by the validator (--validator, else [tool.hardening] validator), else by
    building the app (--factory, else [tool.hardening] factory); with none of these, by the
    reference app's rules.
    """
    project = _project()
    by_default = validator is None and factory is None and project is REFERENCE
    # --factory means "build my app", as [tool.hardening] factory does: the reference app's
    # validator (the default of a project that configures nothing) is not that app's rules;
    # nor is the reference app the app of a --validator of one's own.
    own_validator = validator is not None and project is REFERENCE
    if validator is None and (factory is None or project is not REFERENCE):
        validator = project.validator
    factory = factory or (None if own_validator else project.factory)
    try:
        env = read_env_file(env_file) if env_file is not None else dict(os.environ)
    except EnvFileError as error:
        click.echo(str(error), err=True)
        raise Exit(1) from None
    # The file is the whole configuration: the shell's own settings must not fill its gaps.
    clear = shell_variables() - set(env) if env_file is not None else set()
    try:
        if validator is not None:
            check = load_validator(validator)
        elif factory is not None:
            check = build_validator(factory, clear=clear)
        else:
            click.echo(
                "nothing to check with: set `validator` or `factory` in [tool.hardening] of "
                "pyproject.toml, or pass --validator",
                err=True,
            )
            raise Exit(2)
        # APP_ENV=production is the reference app's rule; another validator decides for itself.
        reference = validator == REFERENCE.validator
        problems = release_problems(env, check, require_production=reference)
        built = validator is None  # the app's own rules, as its build applies them
        if built and (development := development_mode(env)) is not None:
            problems.insert(0, development)
    except (ValueError, ModuleNotFoundError, SpecError) as error:
        if isinstance(error, ModuleNotFoundError) and by_default:
            _no_app("check-config", error, "--factory package.module:attribute", "factory")
        if isinstance(error, ModuleNotFoundError) and not _names_the_spec(
            error, validator, factory
        ):
            raise
        # A spec that names nothing (a typo, the wrong folder): a usage error, not a refusal.
        click.echo(f"hardening check-config: {error}", err=True)
        raise Exit(2) from None
    source = str(env_file) if env_file is not None else "the current environment"
    if by_default:  # a project that configured nothing: say whose rules these are
        click.echo(
            "note: checked against the bundled reference app's rules (no validator or factory "
            "in [tool.hardening] of pyproject.toml): pass --factory package.module:create_app "
            "to check your app's",
            err=True,
        )
    if env_file is not None:
        for note in env_notes(env, env_file, mode_checked=built):
            click.echo(f"note: {note}", err=True)
    if built:
        click.echo(
            "note: the app was built, not started: a check its startup (lifespan) makes is not "
            "seen here (prod_config.assert_rejects runs the startup, in a test), and an "
            "audit's variant such a check refuses reads as accepted",
            err=True,
        )
    if audit and not problems:
        if factory is None:
            click.echo(
                "--audit builds the app: pass --factory, or set [tool.hardening] factory",
                err=True,
            )
            raise Exit(2)
        names = [name.strip() for given in optional for name in given.split(",") if name.strip()]
        unknown = [name for name in names if name not in env]
        if unknown:
            click.echo(
                f"note: --optional {', '.join(unknown)}: not set in {source}, so never dropped "
                "anyway (a typo?)",
                err=True,
            )
        tried, findings = audit_findings(
            env, factory=factory, validator=validator, clear=clear, optional=names
        )
        problems = [f"audit: {finding}" for finding in findings]
        click.echo(f"audit: {tried} unsafe variants tried, {len(findings)} finding(s)")
        dropped = [
            f.split(":")[0].removeprefix("accepted ")
            for f in findings
            if f.startswith("accepted ") and ": dropped" in f
        ]
        if dropped:
            click.echo(
                f"note: the app was built without {', '.join(dropped)}: it should refuse to start "
                "without a variable production must set; one whose default is safe in "
                f"production is named with --optional {dropped[0]} (or in the app's "
                "PRODUCTION_OPTIONAL), and the audit no longer drops it",
                err=True,
            )
    if problems:
        for line in problems:
            click.echo(line)
        click.echo(f"{len(problems)} problem(s) in {source}: not safe to release.", err=True)
        raise Exit(1)
    if built:  # what the app's own build refuses, and no more
        how = "the audit's variants" if audit else "--audit tries its unsafe variants"
        click.echo(f"{source}: production configuration OK: the app built with it ({how})")
    else:
        click.echo(f"{source}: production configuration OK")


@app.command()
@click.option("--host", default="127.0.0.1", help="Interface to bind.")
@click.option("--port", type=int, default=8080, help="Port to listen on.")
@_env_file_option("dotenv file to load.")
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
    from pytest_hardening._cli._config import mode_of
    from pytest_hardening._config import load_object
    from pytest_hardening._secrets import mask, refusal_lines, secret_values

    spec = factory or _project().factory or REFERENCE.factory
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
        if isinstance(error, ModuleNotFoundError) and spec == REFERENCE.factory:
            _no_app("serve", error, "--factory package.module:attribute", "factory")
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


def _no_app(command: str, error: ModuleNotFoundError, option: str, key: str) -> NoReturn:
    """Nothing named an app, and the default, the bundled reference app, cannot be imported:
    its stack is an extra, not installed. One line, a usage error."""
    click.echo(
        f"hardening {command}: no app given ({error}): pass {option}, or set `{key}` in "
        "[tool.hardening] of pyproject.toml; the bundled reference app, the default when "
        "neither is given, needs pytest-hardening[app]",
        err=True,
    )
    raise Exit(2) from None


def _names_the_spec(error: ModuleNotFoundError, *specs: str | None) -> bool:
    """Whether ``error`` is about a module a spec on the command line names (not one the
    app's own imports miss)."""
    name = error.name or ""
    modules = [spec.partition(":")[0].strip() for spec in specs if spec]
    return bool(name) and any(m == name or m.startswith(f"{name}.") for m in modules)


def _project() -> ProjectConfig:
    try:
        config = project_config()
    except ValueError as error:
        click.echo(str(error), err=True)
        raise Exit(2) from None
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
