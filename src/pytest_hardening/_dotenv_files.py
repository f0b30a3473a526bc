"""The dotenv files beside a check: those an app's settings may read (their values count in a
build without being in the environment given), and the example files a project publishes
(their values are public).

Looked for in the working directory and its two parents: apps run from a subfolder often read
``../.env`` (the full-stack FastAPI template's backend does).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from dotenv import dotenv_values

__all__ = ["dotenv_files", "dotenv_hints", "dotenv_setters", "example_values", "may_read"]

#: Files settings libraries read beside the environment (pydantic-settings' env_file,
#: python-dotenv's load_dotenv), looked for in the working directory and its parents: apps
#: run from a subfolder often read ``../.env`` (the full-stack FastAPI template's backend does).
_DOTENV_FILES = (".env", ".env.local", ".env.production")
_DOTENV_PARENTS = 2


def _dotenv_paths() -> list[Path]:
    here = Path.cwd()
    folders = [here, *here.parents[:_DOTENV_PARENTS]]
    return [folder / name for folder in folders for name in _DOTENV_FILES]


def dotenv_files() -> list[Path]:
    """The dotenv files in the working directory and its two parents."""
    return [path for path in _dotenv_paths() if path.is_file()]


def dotenv_setters(
    names: Iterable[str], *, skip: Path | None = None
) -> list[tuple[str, list[str]]]:
    """Each dotenv file in the working directory or one of its two parents that sets some of
    ``names`` (its path, relative), with those names; not ``skip`` (the env file a command
    checks, which is no file the app reads behind its back)."""
    wanted = list(names)
    skipped = skip.resolve() if skip is not None else None
    found = []
    for path in _dotenv_paths():
        if skipped is not None and path.resolve() == skipped:
            continue
        try:
            text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        except OSError:
            continue
        named = [n for n in wanted if re.search(rf"(?m)^\s*(?:export\s+)?{re.escape(n)}\s*=", text)]
        if named:
            found.append((os.path.relpath(path), named))
    return found


def dotenv_hints(changes: Mapping[str, str | None]) -> list[str]:
    """For each dropped variable that a dotenv file in the working directory or one of its two
    parents sets, why the build may still have found it (never the value)."""
    dropped = [name for name, value in changes.items() if value is None]
    return [
        f"{', '.join(named)} dropped from the environment, but set in {shown}: if the "
        "app's settings read that file (pydantic-settings' env_file, python-dotenv), "
        "the build found it there. Have the settings read no file under test (e.g. "
        "Settings(_env_file=None)), or run from a directory without one."
        for shown, named in dotenv_setters(dropped)
    ]


def may_read(shown: str, module: str | None) -> bool:
    """Whether the app of ``module`` (``package.module``) may read the dotenv file ``shown``:
    ``.env``, the file python-dotenv's ``load_dotenv()`` finds by default, or a file whose name
    its package's source mentions (a settings class's ``env_file``, a ``load_dotenv(path)``).
    A ``.env.production`` nothing names is no file the app reads."""
    name = Path(shown).name
    if name == ".env" or module is None:
        return True
    from ._app_modules import home

    top = module.partition(".")[0]
    folder = home(top)
    if folder is None:
        return True  # not found: cannot tell
    package = folder / top
    sources = package.rglob("*.py") if package.is_dir() else [folder / f"{top}.py"]
    for source in sources:
        try:
            if name in source.read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            continue
    return False


#: The files a project publishes its example settings in: committed, so their values are
#: public, and a deployment that copied one unchanged runs on them.
_EXAMPLE_FILES = (".env.example", ".env.sample", ".env.template", ".env.dist", "env.example")


def example_values(near: Path | None = None) -> dict[str, str]:
    """What the project's example env files in the working directory and its two parents
    give each variable (the nearest file first), then those in ``near`` (the app's folder:
    tests run from beside the app) and its two parents."""
    here = Path.cwd()
    folders = [here, *here.parents[:_DOTENV_PARENTS]]
    if near is not None:
        folders += [f for f in (near, *near.parents[:_DOTENV_PARENTS]) if f not in folders]
    found: dict[str, str] = {}
    for folder in folders:
        for name in _EXAMPLE_FILES:
            path = folder / name
            if not path.is_file():
                continue
            try:
                values = dotenv_values(path, encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            for variable, value in values.items():
                if value:
                    found.setdefault(variable, value)
    return found
