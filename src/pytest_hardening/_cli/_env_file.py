"""An env file a release ships: reading it, the shell's variables cleared around its check,
the mode it names and what an operator should know about it."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

__all__ = [
    "EnvFileError",
    "development_mode",
    "env_notes",
    "mode_of",
    "read_env_file",
    "shell_variables",
]


class EnvFileError(ValueError):
    """An env file that cannot be read as text; the message never quotes its content."""


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a dotenv file (quotes, comments, ``export``); variables without a value are dropped."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise EnvFileError(f"{path}: cannot be read ({error.strerror or error})") from None
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise EnvFileError(
            f"{path}: not UTF-8 text (invalid byte at position {error.start}); save it as UTF-8"
        ) from None
    return {k: v for k, v in dotenv_values(path, encoding="utf-8").items() if v is not None}


#: Variables of the machine and the tools, not of an app: kept when an env file is checked.
_MACHINE = frozenset(
    {
        "PATH",
        "HOME",
        "USER",
        "LOGNAME",
        "SHELL",
        "TERM",
        "COLORTERM",
        "LANG",
        "LANGUAGE",
        "TZ",
        "TMPDIR",
        "TEMP",
        "TMP",
        "PWD",
        "SHLVL",
        "HOSTNAME",
        "VIRTUAL_ENV",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
        "NO_COLOR",
        "FORCE_COLOR",
        "COLUMNS",
        "LINES",
        "CI",
        "_",
    }
)
_MACHINE_PREFIXES = ("LC_", "PYTHON", "PIP_", "XDG_", "CONDA", "PYENV", "HARDENING_")


def shell_variables() -> set[str]:
    """The shell's variables an app could read as settings: cleared while an env file is
    checked, so that a developer's own ``SECRET_KEY`` never makes a file that lacks it pass."""
    return {
        name
        for name in os.environ
        if name not in _MACHINE and not name.startswith(_MACHINE_PREFIXES)
    }


#: The values that mean production to some app (the reference app's rule, _MODE_VARIABLES,
#: reads APP_ENV and NODE_ENV only).
_PRODUCTION_MODES = frozenset({"production", "prod", "live"})


def mode_of(env: Mapping[str, str]) -> tuple[str, str] | None:
    """The first mode variable ``env`` sets, and its value (not a secret)."""
    from pytest_hardening._prod_variants import MODE_VARIABLES

    for name in MODE_VARIABLES:
        value = env.get(name, "").strip()
        if value:
            return name, value
    return None


def development_mode(env: Mapping[str, str]) -> str | None:
    """The problem with an env whose mode variable names another mode than production, for a
    check that builds the app: it was built in that mode, its production checks off."""
    mode = mode_of(env)
    if mode is None or mode[1].lower() in _PRODUCTION_MODES:
        return None
    return (
        f"{mode[0]}: must name the production mode for a production release (is {mode[1]}): "
        "the app was built in that mode, its production checks off"
    )


def env_notes(
    env: Mapping[str, str], env_file: Path, *, mode_checked: bool = False, exact: bool = False
) -> list[str]:
    """What an operator should know about a check of ``env_file``: a mode that is not
    production (unless ``mode_checked``: reported as a problem), a spelling of production the
    app may not expect (unless ``exact``: rules that name their own mode variable and value,
    the reference app's), and dotenv files the app's settings may read beside it (their values
    would count in the check without being in the file)."""
    from pytest_hardening._dotenv_files import dotenv_files

    notes = []
    mode = mode_of(env)
    if mode is not None and mode[1].lower() not in _PRODUCTION_MODES:
        if not mode_checked:
            notes.append(
                f"{env_file} sets {mode[0]}={mode[1]}: not a production environment; the check "
                "built the app with it all the same"
            )
    elif mode is not None and env[mode[0]] != "production" and not exact:
        # Apps compare their mode exactly, each with its own value ("production", "prod"):
        # a spelling the app does not expect reads as development, checks and all.
        notes.append(
            f"{env_file} sets {mode[0]}={mode[1]}: make sure it is the very value the app "
            "compares with to turn its production checks on (apps compare exactly, some with "
            "'production', some with 'prod'); another spelling builds a development app"
        )
    checked = env_file.resolve()
    for path in dotenv_files():
        if path.resolve() != checked:
            # A bare load_dotenv() reads .env alone: another file is read when named.
            readers = (
                "pydantic-settings' env_file, load_dotenv"
                if path.name == ".env"
                else f"a pydantic-settings env_file or a load_dotenv call naming {path.name}"
            )
            notes.append(
                f"{os.path.relpath(path)} exists: settings that read it ({readers}) add its "
                "values to this check; move it aside, or have the settings read no file, to "
                "check the env file alone"
            )
    return notes
