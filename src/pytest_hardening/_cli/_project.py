"""The project the ``hardening`` command runs for: ``[tool.hardening]`` in its pyproject.toml.

    [tool.hardening]
    factory = "mypkg.app:create_app"        # serve, check-config --audit, the default below
    validator = "mypkg.config:validate"     # check-config
    target = "mypkg.chaos:target"           # chaos

Without ``factory``, the ``hardening_app_factory`` pytest ini option of the same file is used.
The reference app is the default only when the project configures none of these; but a
release gate (``check-config``) of another project never judges by its rules
(:func:`another_project`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = ["REFERENCE", "ProjectConfig", "another_project", "project_config"]


@dataclass(frozen=True)
class ProjectConfig:
    """What the project configured (None: not configured); ``source`` is the file read."""

    factory: str | None = None
    validator: str | None = None
    target: str | None = None
    source: Path | None = None

    @property
    def configured(self) -> bool:
        return any((self.factory, self.validator, self.target))


#: The reference app's entries: the defaults of a project that configures nothing.
REFERENCE = ProjectConfig(
    factory="reference_app:create_app",
    validator="reference_app.config:validate_environment",
    target="reference_app.chaos:target",
)


def _find_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def another_project(start: Path | None = None) -> Path | None:
    """The nearest pyproject.toml at or above ``start`` (default: the current directory) when
    it is another project's than this package's own (whose checkout runs the reference app)."""
    path = _find_pyproject((start or Path.cwd()).resolve())
    if path is None:
        return None
    try:
        with path.open("rb") as file:
            name = tomllib.load(file).get("project", {}).get("name")
    except (OSError, tomllib.TOMLDecodeError):
        return path
    return None if name == "pytest-hardening" else path


def _text(table: dict[str, Any], key: str, source: Path) -> str | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{source}: [tool.hardening] {key} must be 'package.module:attribute'")
    return value.strip()


def project_config(start: Path | None = None) -> ProjectConfig:
    """``[tool.hardening]`` of the nearest pyproject.toml at or above ``start`` (default: the
    current directory); the reference app's entries when the project configures nothing."""
    path = _find_pyproject((start or Path.cwd()).resolve())
    if path is None:
        return REFERENCE
    with path.open("rb") as file:
        document = tomllib.load(file)
    tool = document.get("tool", {})
    table = tool.get("hardening", {})
    ini = tool.get("pytest", {}).get("ini_options", {})
    found = ProjectConfig(
        factory=_text(table, "factory", path) or _text(ini, "hardening_app_factory", path),
        validator=_text(table, "validator", path),
        target=_text(table, "target", path),
        source=path,
    )
    return found if found.configured else REFERENCE
