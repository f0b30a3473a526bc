"""``hardening check-config``: production validation of an env file (read by
:mod:`._env_file`), without starting anything."""

from __future__ import annotations

import contextlib
import importlib
import io
import os
from collections.abc import Callable, Iterable, Mapping
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

from pytest_hardening._cli._build_notes import (
    WSGI_NOTE,
    connection_notes,
    loaded_fills,
    loaded_over,
    nothing_to_start,
    secrets_left_to_code,
    unnamed_local,
    unset_mode,
)
from pytest_hardening._cli._common import names_the_spec
from pytest_hardening._cli._dotenv_reads import dotenv_fills
from pytest_hardening._cli._env_file import mode_of
from pytest_hardening._config import SpecError, load_object
from pytest_hardening._env import EnvPatch
from pytest_hardening._fresh_builds import fresh_factory
from pytest_hardening._guard_failures import could_not_judge, what_to_do
from pytest_hardening._refusal_text import code_error, names_variable
from pytest_hardening._secrets import is_public_default, mask, secret_values
from pytest_hardening._secrets import refusal_lines as _refusal

Validator = Callable[[Mapping[str, str]], Iterable[Any]]

_MODE_VARIABLES = ("APP_ENV", "NODE_ENV")


def load_validator(spec: str) -> Validator:
    validator: Validator = load_object(spec, what="validator")
    return validator


def build_validator(
    factory: str,
    *,
    clear: Iterable[str] = (),
    env_file: Path | None = None,
    start: bool = False,
    optional: Iterable[str] = (),
) -> Validator:
    """A validator for apps that validate their settings when built: build the app (no
    lifespan, nothing served) under the env, the names in ``clear`` removed; a refusal
    (an error, or ``sys.exit()``) is the problem, and so is each variable ``env_file`` lacks
    that the app's settings read from a dotenv file instead. With ``start``, the app's startup
    runs too. Built (and started) as ``prod_config`` builds it: connections off this machine
    are refused (an import that pings the env file's database must not reach it), and a build
    or startup stopped only by one got past what the app validates before it; the validator's
    ``notes`` say where, and where a startup went on without a connection it was refused.

    A check is not a boot: under a :class:`~pytest_hardening.SentryGuard`, what the app sends
    to Sentry meanwhile (a refused boot's report too) stays in memory, never reaching the DSN.
    """
    from pytest_hardening import ProdConfigChecker
    from pytest_hardening._app import AppExited
    from pytest_hardening._env_reads import EnvAccess, replaced
    from pytest_hardening._lifespan import LifespanError
    from pytest_hardening._prod_variants import MODE_FLAGS, MODE_VARIABLES
    from pytest_hardening._unsafe_builds import (
        ANY_ORIGIN,
        any_origin_in_code,
        credentialed_any_origin,
        debug_in_code,
        runs_in_debug,
    )
    from pytest_hardening._wsgi import serves_wsgi

    create = fresh_factory(factory)
    notes: list[str] = []
    startless: list[bool] = []
    modes = (*MODE_VARIABLES, *MODE_FLAGS)

    def validate(env: Mapping[str, str]) -> list[str]:
        output = io.StringIO()
        checker = ProdConfigChecker(create, env, clear=clear)
        try:
            with (
                redirect_stdout(output),
                redirect_stderr(output),
                EnvAccess() as access,
            ):
                try:
                    built = checker.boot() if start else checker.build()
                finally:
                    notes[:] = connection_notes(checker.stopped_at, checker.reached, started=start)
                    notes.extend(unset_mode([k for k in access.read if k in modes], env))
                    notes.extend(unnamed_local(checker.local, env))
            if serves_wsgi(built):  # no lifespan: "started" would say what never ran
                notes.append(WSGI_NOTE)
            startless[:] = [nothing_to_start(built)]
        except SpecError:
            raise  # the command line names what does not exist: not a refusal
        except AppExited as exited:
            said = [line.strip() for line in output.getvalue().splitlines() if line.strip()]
            last = f" (it printed: {said[-1]})" if said else ""
            return [f"{factory}: refused to build: {exited}{last}"]
        except Exception as error:
            if isinstance(error, ModuleNotFoundError) and names_the_spec(error, factory):
                raise  # a typo, the wrong folder: the command line's, not the app's refusal
            broken = code_error(error)
            if broken is not None:  # the app's code, which no env file can fix or judge
                return [
                    f"{factory}: could not judge the file: the build failed on {broken}, an "
                    "error in the app's code, not a refusal of the configuration"
                ]
            if checker.stopped_at is None and checker.failed_after:
                # Maybe a client library's failure on the refusal (a cloud SDK's metadata
                # probe): no verdict on the file, said first, with what to do.
                shown = "; ".join(_refusal(error))
                return [
                    f"{factory}: {could_not_judge(checker.failed_after, 'this env', shown)}. "
                    f"{what_to_do(checker.failed_after, 'the env file')}"
                ]
            if checker.stopped_at is None:
                # A startup's refusal (--start) is no build's: said where it happened.
                phase = "start" if isinstance(error, LifespanError) else "build"
                lines = [f"{factory}: refused to {phase}: {line}" for line in _refusal(error)]
                missing = getattr(error, "filename", None) if isinstance(error, OSError) else None
                if isinstance(missing, str) and not os.path.isabs(missing):
                    lines[-1] += (
                        f" ({missing} is relative to the folder the command runs in, "
                        f"{os.getcwd()}: run it from the app's folder, as production starts it)"
                    )
                return lines
            built = None  # stopped at a connection: nothing refused, and no app to look at
        problems = []  # every one, each on its own line: not only the first
        # Each says when no variable of the file sets it: the app's code does, and no env
        # file can fix it.
        if runs_in_debug(built):
            problems.append(f"{factory}: {_debug_problem(env, debug_in_code(env, 'this env'))}")
        if credentialed_any_origin(built):
            in_code = any_origin_in_code(built, env, "this env")
            problems.append(
                f"{factory}: lets any origin make credentialed requests: {ANY_ORIGIN}"
                + (f". {in_code}" * bool(in_code))
            )
        if env_file is not None:
            from pytest_hardening._prod_variants import declared_optional

            declared = [*declared_optional(create, create.modules_of(built)), *optional]
            problems += secrets_left_to_code(access.own, env, declared, env_file.name)
            problems += dotenv_fills(env, create.__module__.partition(".")[0], env_file)
            # What the app loaded itself and then read: a developer's file's other values
            # (its DEBUG=1) are nothing production misses.
            loaded = [name for name in access.written if name in access.read]
            problems += loaded_fills(loaded, env, env_file, problems)
            problems += loaded_over(replaced(access.loaded, env), env_file)
        return problems

    validate.notes = notes  # type: ignore[attr-defined]
    validate.startless = startless  # type: ignore[attr-defined]  # [True]: nothing to start
    return validate


def _debug_problem(env: Mapping[str, str], in_code: str | None) -> str:
    built = (
        "built in debug mode (its debug flag is on): an error's traceback would reach the client"
    )
    if in_code is not None:
        return f"{built}. {in_code}"
    mode = mode_of(env)
    said = f" (is {mode[0]}={mode[1]} exactly the value it reads as production?)" if mode else ""
    return f"{built}; the app must switch debug off under this env{said}"


def _describe(problem: Any) -> tuple[str, str]:
    variable = getattr(problem, "variable", None)
    message = getattr(problem, "message", None)
    if variable is not None and message is not None:
        return str(variable), str(message)
    text = str(problem)
    name, sep, rest = text.partition(": ")
    return (name, rest) if sep else ("?", text)


def release_problems(
    env: Mapping[str, str], validator: Validator, *, require_production: bool = True
) -> list[str]:
    """Every problem with ``env`` as a production release, one ``VARIABLE: message`` each.

    With ``require_production`` (the reference app's convention), a release check is a
    production check: when neither ``APP_ENV`` nor ``NODE_ENV`` says ``production`` that is
    reported, and the production rules are applied anyway so the one run lists everything.
    Another project's validator decides for itself. No secret value is ever part of a line.
    """
    checked = dict(env)
    lines: list[str] = []
    mode = next((env[v].strip() for v in _MODE_VARIABLES if env.get(v, "").strip()), "")
    if require_production and mode.lower() != "production":
        lines.append(
            f"APP_ENV: must be production for a production release (is {mode or 'unset'}); "
            "the production rules were applied anyway"
        )
        checked = {k: v for k, v in env.items() if k not in _MODE_VARIABLES}
        checked["APP_ENV"] = "production"
    from pytest_hardening._prod_variants import weak_secrets

    named, refusals = set(), []
    for problem in validator(checked):
        variable, message = _describe(problem)
        named.add(variable)
        lines.append(f"{variable}: {message}")
        if message.startswith(("refused to ", "could not judge")):  # the build itself
            refusals.append(message)
    # A refusal that names a variable said its problem; one that names another says nothing
    # of whether the app accepts this value.
    named |= {n for n in env if any(names_variable(r, n) for r in refusals)}
    verdict = "" if refusals else ", and the check accepted it"
    for weak in weak_secrets(env):  # accepted by the app's rules: still not a secret
        if weak.variable not in named:
            kind = weak.kind.removesuffix(" as given")
            what = {
                "short": "one character",
                "empty": "empty",
                "example placeholder": "its example placeholder",
                "published default password": "a URL whose password is a published default",
                "its .env.example value": "the value the project's example env file gives it",
            }
            public = kind not in ("short", "empty", "its .env.example value")
            shown = f" ({weak.value!r})" if public else ""
            # Blank is how many files turn a feature off (no DSN, no mail): say the other way.
            off = ", or leave the line out if what it enables is meant to be off" * (
                kind == "empty"
            )
            lines.append(
                f"{weak.variable}: is {what.get(kind, f'a {kind}')}{shown}{verdict}: set a "
                f"real secret{off}"
            )
    # Never printed, whatever the validator says (a published default is no secret).
    secrets = [(n, v) for n, v in secret_values(env, min_length=4) if not is_public_default(v)]
    return [mask(line, secrets) for line in lines]


def audit_findings(
    env: Mapping[str, str],
    *,
    factory: str,
    validator: str | None,
    optional: Iterable[str] = (),
    clear: Iterable[str] = (),
    start: bool = False,
) -> tuple[int, list[str], list[str]]:
    """Mutate the (valid) ``env`` one unsafe change at a time and build the app with each:
    returns how many changes were tried, the findings (unsafe changes it booted with,
    rejection messages that leaked a secret) and what the builds wrote into the working
    directory. Building is slow; the command makes it opt-in.
    """
    from pytest_hardening import ProdConfigChecker  # the plugin's checker, only when asked
    from pytest_hardening._prod_config import UnsafeKnownGoodBuild
    from pytest_hardening._prod_variants import declared_optional

    module = importlib.import_module(validator.partition(":")[0]) if validator else None
    cleared = set(getattr(module, "VARIABLE_NAMES", ())) | {"NODE_ENV"} | set(clear)
    create = fresh_factory(factory, varied=set(env) | cleared)  # what the variants change
    with contextlib.suppress(Exception), EnvPatch(env), _unprinted():
        # Under the env (known to build): where declared_optional looks for PRODUCTION_OPTIONAL.
        importlib.import_module(create.__module__)
    optional_names = {
        *declared_optional(create),
        *getattr(module, "PRODUCTION_OPTIONAL", ()),
        *optional,
    }
    # Built only, unless asked: an env file's database or paths are production's.
    checker = ProdConfigChecker(create, env, clear=cleared, startup=start)
    try:
        with _unprinted():
            report = checker.audit(optional=optional_names)
    except UnsafeKnownGoodBuild as unsafe:  # tried all the same: its findings lead the report
        report = unsafe.report
    except AssertionError as refused:  # the env itself does not boot: nothing was tried
        return 0, [str(refused).splitlines()[0]], []
    variants = (report.accepted, report.rejected, report.harmless, report.unjudged)
    tried = sum(len(group) for group in variants)
    return tried, list(report.findings), report.wrote


def _unprinted() -> contextlib.ExitStack:
    """What the app prints while the audit builds it (logs, warnings, a settings dump) is not
    shown: dozens of builds bury the report in it, and an app's own messages may echo the very
    values tried (a secret among them)."""
    stack = contextlib.ExitStack()
    sink = io.StringIO()  # never closed: a log handler the app made meanwhile may write on
    stack.enter_context(redirect_stdout(sink))
    stack.enter_context(redirect_stderr(sink))
    return stack
