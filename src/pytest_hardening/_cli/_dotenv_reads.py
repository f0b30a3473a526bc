"""The dotenv files an app's settings read beside the env file ``check-config`` checks.

pydantic-settings' ``env_file`` (pydantic 1's ``Config.env_file`` too) fills every field the
environment leaves unset from that file:
a production env file that lacks ``SECRET_KEY`` builds an app all the same when a developer's
``.env`` sets it, and the check would call the file good. After a build, the settings classes
of the app's package say which files they read and which variables those files hold for them;
each one the env file lacks is a problem of the env file, unless the file's value is one the
settings ignore (empty, with ``env_ignore_empty``) or the field's own default: production
starts with that value all the same.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values

__all__ = ["dotenv_fills"]


def dotenv_fills(env: Mapping[str, str], package: str, checked: Path) -> list[str]:
    """One ``VARIABLE: message`` for each variable ``checked`` (parsed as ``env``) lacks that a
    settings class of ``package`` read from a dotenv file instead (never its value)."""
    given = {name.lower() for name in env}
    lines: list[str] = []
    done: set[tuple[Path, str]] = set()
    for path, fields, ignore_empty in _settings_files(package):
        if path.resolve() == checked.resolve():
            continue
        try:
            found = dotenv_values(path, encoding="utf-8")
        except (OSError, UnicodeDecodeError):  # not a file the settings could read either
            continue
        shown = os.path.relpath(path)
        for name, value in sorted(found.items()):
            key = name.lower()
            if key not in fields or key in given or (path, key) in done:
                continue
            if (ignore_empty and not value) or _is_default(value, fields[key]):
                continue  # the app gets the same value without the file
            done.add((path, key))
            default = fields[key]
            plain = default is not _REQUIRED and isinstance(default, (str, int, float))
            on = f", on the app's default ({default!r})" if plain else ""
            lines.append(
                f"{name}: not in {checked.name}, but the app's settings read it from "
                f"{shown} (env_file), so the check saw that file's value: production would "
                f"start without it{on}. Set it in {checked.name}, or check from a folder "
                f"without {shown}"
            )
    return lines


#: A field without a default (required): no value of a file equals it.
_REQUIRED: Any = object()


def _is_default(value: str | None, default: Any) -> bool:
    """Whether a dotenv file's ``value`` is the field's ``default`` (a plain one)."""
    if value is None or default is _REQUIRED or not isinstance(default, (str, int, float)):
        return False
    return value.strip().lower() == str(default).lower()


def _settings_files(package: str) -> Iterator[tuple[Path, dict[str, Any], bool]]:
    """(a dotenv file that exists, the variables it may set, lower case, with their fields'
    defaults, whether empty values are ignored) for each settings class of ``package`` that
    names one in its ``env_file``."""
    for base in _settings_bases():
        for cls in _subclasses(base):
            if cls.__module__.partition(".")[0] != package:
                continue
            files, fields, ignore_empty = _reads(cls)
            paths = [files] if isinstance(files, (str, os.PathLike)) else list(files or ())
            for entry in paths:
                path = Path(entry)
                if path.is_file():
                    yield path, fields, ignore_empty


def _settings_bases() -> Iterator[type]:
    """pydantic-settings' ``BaseSettings``, and pydantic 1's (``pydantic.BaseSettings``, or
    ``pydantic.v1``'s under pydantic 2) when the app imported them: never imported here."""
    try:
        from pydantic_settings import BaseSettings
    except ImportError:
        pass
    else:
        yield BaseSettings
    for name in ("pydantic", "pydantic.v1"):
        try:  # pydantic 2 raises its own ImportError for the name it moved out
            base = getattr(sys.modules.get(name), "BaseSettings", None)
        except ImportError:
            continue
        if isinstance(base, type):
            yield base


def _reads(cls: Any) -> tuple[Any, dict[str, Any], bool]:
    """A settings class's ``env_file``, the variables it reads (lower case) with their fields'
    defaults, and whether it ignores empty values (``env_ignore_empty``)."""
    v1 = getattr(cls, "__config__", None)
    if v1 is not None and hasattr(cls, "__fields__") and not hasattr(cls, "model_fields"):
        names: dict[str, Any] = {}
        for field in cls.__fields__.values():  # pydantic 1 resolved each one's env names
            extra = getattr(getattr(field, "field_info", None), "extra", {}) or {}
            default = _REQUIRED if getattr(field, "required", False) else field.default
            names |= {str(env).lower(): default for env in extra.get("env_names", ())}
        return getattr(v1, "env_file", None), names, False
    config: Any = getattr(cls, "model_config", {})
    prefix = str(config.get("env_prefix") or "")
    return config.get("env_file"), _variables(cls, prefix), bool(config.get("env_ignore_empty"))


def _variables(cls: Any, prefix: str) -> dict[str, Any]:
    """The variables a settings class reads its fields from, lower case (the prefixed field
    names, and the aliases as written), each with its field's default."""
    names: dict[str, Any] = {}
    for name, field in getattr(cls, "model_fields", {}).items():
        default = _REQUIRED if field.is_required() else field.default
        names[f"{prefix}{name}".lower()] = default
        for alias in (field.alias, field.validation_alias):
            if isinstance(alias, str):
                names[alias.lower()] = default
    return names


def _subclasses(cls: type) -> Iterator[type]:
    sub: type
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)
