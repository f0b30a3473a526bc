"""What the ``hardening`` commands share: help with arguments first, the env-file option, the
project's configuration and how a missing app is told."""

from __future__ import annotations

import contextlib
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from click.exceptions import Exit

from pytest_hardening._cli._project import ProjectConfig, project_config

__all__ = [
    "Argument",
    "Command",
    "env_file_option",
    "importable",
    "names_the_spec",
    "no_app",
    "project",
]


class Argument(click.Argument):
    """A positional argument with a help text (click has its own only from 8.5 on)."""

    def __init__(self, param_decls: Sequence[str], *, help_text: str, **attrs: Any) -> None:
        super().__init__(param_decls, **attrs)
        self.help_text = help_text


class Command(click.Command):
    """Help lists the arguments, with their help, before the options."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [
            (" ".join(param.get_usage_pieces(ctx)), param.help_text)
            for param in self.get_params(ctx)
            if isinstance(param, Argument)
        ]
        if rows:
            with formatter.section("Arguments"):
                formatter.write_dl(rows)
        super().format_options(ctx, formatter)


F = TypeVar("F", bound=Callable[..., Any])


def env_file_option(help: str) -> Callable[[F], F]:
    return click.option(
        "--env-file",
        type=click.Path(exists=True, dir_okay=False, path_type=Path),
        default=None,
        help=help,
    )


def no_app(command: str, error: ImportError, option: str, key: str) -> NoReturn:
    """Nothing named an app, and the default, the bundled reference app, cannot be imported:
    its stack is an extra, not installed (or not in the versions it needs: pydantic 1 beside
    an app of its own). One line, a usage error."""
    click.echo(
        f"hardening {command}: no app given ({error}): pass {option}, or set `{key}` in "
        "[tool.hardening] of pyproject.toml; the bundled reference app, the default when "
        "neither is given, needs pytest-hardening[app]",
        err=True,
    )
    raise Exit(2) from None


def names_the_spec(error: ModuleNotFoundError, *specs: str | None) -> bool:
    """Whether ``error`` is about a module a spec on the command line names (not one the
    app's own imports miss)."""
    name = error.name or ""
    modules = [spec.partition(":")[0].strip() for spec in specs if spec]
    return bool(name) and any(m == name or m.startswith(f"{name}.") for m in modules)


def project() -> ProjectConfig:
    try:
        config = project_config()
    except ValueError as error:
        click.echo(str(error), err=True)
        raise Exit(2) from None
    if config.source is not None:
        # The project's modules (factory, validator, target) import from its own folder, also
        # when the command runs in a subfolder of the project.
        importable(str(config.source.parent))
    return config


def importable(folder: str) -> None:
    """Modules in ``folder`` import (it goes first on ``sys.path``, once)."""
    if folder not in sys.path:
        sys.path.insert(0, folder)


def raised_at(error: BaseException) -> str:
    """``error`` and where it was raised (``AssertionError() at app/middleware.py:12``): an
    error without a message says nothing on its own. The path is shown relative to the
    working directory when it is under it."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return repr(error)
    last = frames[-1]
    path = Path(last.filename)
    with contextlib.suppress(ValueError):
        path = path.resolve().relative_to(Path.cwd())
    line = f" ({last.line.strip()})" if last.line else ""
    return f"{error!r} at {path}:{last.lineno}{line}"
