"""What a check-config build saw beside the configuration it judged: where it stopped at a
connection, the connections it made on this machine to servers the file never names, a mode
variable the app read that the file leaves unset, a secret its own code read that the file
leaves unset (built without it), variables the app's own
``load_dotenv()`` filled from a developer's file, and an app with no startup to run (WSGI, or
a Starlette app with none)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "WSGI_NOTE",
    "connection_notes",
    "loaded_fills",
    "loaded_over",
    "nothing_to_start",
    "secrets_left_to_code",
    "unnamed_local",
    "unset_mode",
]

#: A WSGI app (Flask, Django), bare or behind an ASGI wrapper, has no lifespan: built is all
#: a server does before it serves, so "started" would claim a step that never ran.
WSGI_NOTE = (
    "the app is a WSGI app (Flask, Django): built, nothing to start (WSGI has no startup, or "
    "lifespan, step: --start does not apply to it)"
)


def connection_notes(
    stopped_at: str | None, reached: Iterable[str], *, started: bool = True
) -> list[str]:
    """What the check's network guard stopped: where the build or startup stopped (what the
    app validates before that passed), where the app went on without a connection (while it
    was built, or ``started`` too)."""
    found = []
    if stopped_at is not None:
        found.append(
            f"the app stopped there: {stopped_at}; what it validates before that passed (in "
            "production it connects)"
        )
    reached = [r.strip() for r in reached]
    if reached:
        phase = "startup" if started else "build"
        found.append(
            f"the app's {phase} tried to reach the network and went on when the check refused "
            f"it: {'; '.join(reached)} (in production it connects)"
        )
    return found


#: A loopback host in a value, with its port if it gives one.
_LOOPBACK = re.compile(r"(?i)(?:localhost|127(?:\.\d{1,3}){3}|::1|0\.0\.0\.0)\]?(?::(\d+))?")


def unnamed_local(local: Iterable[str], env: Mapping[str, str]) -> list[str]:
    """The connections the app made on this machine to a server no variable of ``env`` names
    (a loopback host, with that port or none): its own default (a settings class's
    ``localhost`` database), which production has nothing listening on."""
    unnamed = []
    for target in local:
        port = target.rpartition(":")[2]
        named = any(
            match.group(1) in (None, port)
            for value in env.values()
            for match in _LOOPBACK.finditer(value)
        )
        if not named:
            unnamed.append(target)
    if not unnamed:
        return []
    return [
        f"the app connected on this machine to {', '.join(unnamed)}, which no variable of "
        "the env file names: a default of the app's, where production has no such server; "
        "name the production one in the env file"
    ]


def loaded_fills(
    written: list[str], env: Mapping[str, str], env_file: Path, found: list[str]
) -> list[str]:
    """One problem for each variable the app set itself while it was built (and read) that the
    env file lacks and a dotenv file beside it sets (``load_dotenv()`` at its import filled it):
    production, without that file, starts without it. Those :func:`dotenv_fills` named
    already are not said again."""
    from pytest_hardening._dotenv_files import dotenv_setters

    said = {line.partition(":")[0] for line in found}
    lacking = [name for name in written if name not in env and name not in said]
    problems = []
    for shown, named in dotenv_setters(lacking, skip=env_file):
        for name in named:
            if name in said:
                continue
            said.add(name)
            problems.append(
                f"{name}: not in {env_file.name}, but the app loaded it from {shown} "
                f"(load_dotenv), so the check saw that file's value: production would start "
                f"without it. Set it in {env_file.name}, or check from a folder without {shown}"
            )
    return problems


def loaded_over(names: list[str], env_file: Path) -> list[str]:
    """One problem for each variable the env file sets that the app's own ``load_dotenv(...,
    override=True)`` replaced with a developer's file's value while it was built: the check
    judged that value, never the file's."""
    from pytest_hardening._dotenv_files import dotenv_setters

    problems = []
    for shown, named in dotenv_setters(names, skip=env_file):
        problems += [
            f"{name}: the app replaced {env_file.name}'s value with {shown}'s while it was "
            f"built (load_dotenv with override=True), so the check judged that file's value, "
            f"not this one: check from a folder without {shown} (production has none)"
            for name in named
        ]
    return problems


def unset_mode(read: list[str], env: Mapping[str, str]) -> list[str]:
    """A note when the app read a mode variable (or a production switch) by name that the env
    file does not set: it built in its default mode, which is often development (a trial's
    kept its localhost origins)."""
    unset = [name for name in read if not env.get(name, "").strip()]
    if not unset or len(unset) < len(read):  # the file sets one the app reads
        return []
    return [
        f"the app read {', '.join(unset)}, which the env file does not set: it built in its "
        "default mode, often development; set it to the app's production value"
    ]


def secrets_left_to_code(
    own_reads: Iterable[str], env: Mapping[str, str], optional: Iterable[str], file: str
) -> list[str]:
    """A problem for each secret the app's own code read by name that the env file does not
    set, unless declared optional: the build went on without it, on whatever default the code
    gives it (``os.getenv("WEBHOOK_SECRET", "dev-...")``, published with the code).
    A library reading its own credential (an SDK's chain: unset, it looks elsewhere) is not
    the app's, and a secret the file sets empty is said by the weak-secret rule."""
    from pytest_hardening._prod_report import DEFAULT_IN_CODE
    from pytest_hardening._secrets import is_secret_name

    skip = set(optional)
    return [
        f"{name}: the app reads it and {file} does not set it, so the app was built without "
        f"it: {DEFAULT_IN_CODE}; when the app runs safely without it "
        f"(what it enables stays off), name it with --optional {name} (or in the app's "
        "PRODUCTION_OPTIONAL)"
        for name in own_reads
        if is_secret_name(name) and name not in env and name not in skip
    ]


def nothing_to_start(app: Any) -> bool:
    """Whether ``app`` is a Starlette (FastAPI) app known to have no startup: its router's
    default lifespan, with no startup or shutdown handler. Then "built, not started" leaves
    nothing unseen; an app of another kind, or wrapped, may have one."""
    router = getattr(app, "router", None)
    lifespan = getattr(router, "lifespan_context", None)
    if type(lifespan).__name__ != "_DefaultLifespan":
        return False
    return not (getattr(router, "on_startup", None) or getattr(router, "on_shutdown", None))
