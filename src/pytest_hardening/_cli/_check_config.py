"""``hardening check-config``: a production configuration checked before release, without
starting the app (its rules, its build, and with ``--audit`` every unsafe variant)."""

from __future__ import annotations

import os
from pathlib import Path

import click
from click.exceptions import Exit

from pytest_hardening._cli._build_notes import WSGI_NOTE
from pytest_hardening._cli._common import env_file_option, names_the_spec, no_app, project
from pytest_hardening._cli._config import (
    audit_findings,
    build_validator,
    load_validator,
    release_problems,
)
from pytest_hardening._cli._env_file import (
    EnvFileError,
    development_mode,
    env_notes,
    read_env_file,
    shell_variables,
)
from pytest_hardening._cli._project import REFERENCE, another_project
from pytest_hardening._config import SpecError
from pytest_hardening._guard_failures import UNJUDGED_ADVICE
from pytest_hardening._registries import ImportAgainError
from pytest_hardening._unsafe_builds import IN_CODE

__all__ = ["check_config"]


@click.command("check-config")
@env_file_option("dotenv file to check (default: the current environment).")
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
    "--start",
    is_flag=True,
    help="Also run the app's startup (its lifespan) after each build, as a test's prod_config "
    "does: a check made there is seen. Connections off this machine are refused, and a "
    "startup stopped only by one counts as started; one to this machine (a local database) "
    "is made.",
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
    start: bool,
    optional: tuple[str, ...],
) -> None:
    """Check a production configuration before release, without starting the app (unless
    --start).

    Prints every problem, one per line, naming the variable (never a value). Exits 1 if any.

    The env is checked by the validator (--validator, else [tool.hardening] validator), else by
    building the app (--factory, else [tool.hardening] factory); with none of these, by the
    reference app's rules.
    """
    config = project()
    by_default = validator is None and factory is None and config is REFERENCE
    if by_default and (other := another_project()) is not None:
        # A release gate judging another project's env file by the reference app's rules
        # (EXOTEL_*, WASABI_*) fails CI for nothing of that project's: say what to configure.
        click.echo(
            f"hardening check-config: {other} names no app to check with: set `factory` (or "
            "`validator`) in its [tool.hardening], or pass --factory package.module:create_app "
            "(the bundled reference app's rules: --validator "
            f"{REFERENCE.validator})",
            err=True,
        )
        raise Exit(2)
    # --factory means "build my app", as [tool.hardening] factory does: the reference app's
    # validator (the default of a project that configures nothing) is not that app's rules;
    # nor is the reference app the app of a --validator of one's own.
    own_validator = validator is not None and config is REFERENCE
    if validator is None and (factory is None or config is not REFERENCE):
        validator = config.validator
    factory = factory or (None if own_validator else config.factory)
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
            names = [
                name.strip() for given in optional for name in given.split(",") if name.strip()
            ]
            check = build_validator(
                factory, clear=clear, env_file=env_file, start=start, optional=names
            )
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
    except (ValueError, ImportError, SpecError) as error:
        if isinstance(error, ImportError) and by_default:
            no_app("check-config", error, "--factory package.module:attribute", "factory")
        if isinstance(error, ImportError) and not (
            isinstance(error, ModuleNotFoundError) and names_the_spec(error, validator, factory)
        ):
            raise
        # A spec that names nothing (a typo, the wrong folder): a usage error, not a refusal.
        hint = (
            ": a typo in the spec, or run from the folder that holds its package"
            if isinstance(error, ModuleNotFoundError)
            else ""
        )
        click.echo(f"hardening check-config: {error}{hint}", err=True)
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
        for note in env_notes(env, env_file, mode_checked=built, exact=reference):
            click.echo(f"note: {note}", err=True)
    for connection in getattr(check, "notes", []):
        click.echo(f"note: {connection}", err=True)
    refused = any(("refused to build" in line or "could not judge" in line) for line in problems)
    wsgi = WSGI_NOTE in getattr(check, "notes", [])  # nothing to start: no note about it
    startless = any(getattr(check, "startless", []))  # a Starlette app with no startup
    if built and not start and not refused and not wsgi and not startless:
        click.echo(
            "note: the app was built, not started: a check its startup (lifespan) makes is not "
            "seen here, and an audit's variant such a check refuses reads as accepted; --start "
            "runs the startup too (as prod_config does in a test)",
            err=True,
        )
    if start and not built:
        click.echo("note: --start starts an app the check builds (--factory): ignored", err=True)
    # Its variants are judged against the file: one that fails already is fixed first, unless
    # no fix of the file can make it pass (a problem the app's code makes), which would leave
    # the variants' findings unseen until the code changed.
    in_code = bool(problems) and all(IN_CODE in line for line in problems)
    if audit and problems and not in_code:
        click.echo(
            "note: --audit did not run: it tries its variants once the file itself passes "
            "(fix the file's own problems first)",
            err=True,
        )
    if audit and (not problems or in_code):
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
        try:
            tried, findings, wrote = audit_findings(
                env, factory=factory, validator=validator, clear=clear, optional=names, start=start
            )
        except ImportAgainError as error:  # the app cannot be built again: nothing was tried
            click.echo(f"hardening check-config: cannot audit: {error}", err=True)
            raise Exit(2) from None
        # The file's own problems lead; beside them, the audit's restatement of them (its
        # known-good build's) is left out.
        problems += [
            f"audit: {finding}"
            for finding in findings
            if not (in_code and finding.startswith("unsafe known-good build: "))
        ]
        click.echo(f"audit: {tried} unsafe variants tried, {len(findings)} finding(s)")
        if any(finding.startswith("could not judge ") for finding in findings):
            click.echo(f"note: {UNJUDGED_ADVICE}", err=True)
        if wrote:
            click.echo(
                f"note: the audit's builds wrote into this folder: {', '.join(wrote)}: a "
                "variant fell back on a default path of the app's (a database, a storage "
                "folder); look at what changed, and audit from a folder of its own",
                err=True,
            )
        dropped = [
            f.split(":")[0].removeprefix("accepted ")
            for f in findings
            if f.startswith("accepted ") and ": dropped" in f
        ]
        # A dropped variable a dotenv file here sets may have come from that file: the
        # app did not go without it, and --optional is no answer.
        from pytest_hardening._dotenv_files import dotenv_setters, may_read

        filled: set[str] = set()
        # The file checked is not among them: the audit drops its values on purpose; nor is
        # one the app never names (a .env.production lying beside a check).
        module = factory.partition(":")[0] if factory else None
        for shown, named in dotenv_setters(dropped, skip=env_file):
            if not may_read(shown, module):
                continue
            fresh = [name for name in named if name not in filled]
            filled.update(named)
            if fresh:
                click.echo(
                    f"note: {', '.join(fresh)} dropped, but set in {shown}: settings that read "
                    "that file (pydantic-settings' env_file, load_dotenv) built the app with "
                    "its values, so these drops say nothing about the app; move the file "
                    "aside, or audit from a folder without one",
                    err=True,
                )
        alone = [name for name in dropped if name not in filled]
        from pytest_hardening._prod_report import secret_default_note
        from pytest_hardening._secrets import is_secret_name

        secrets = [name for name in alone if is_secret_name(name)]
        if secrets:  # no --optional for those: a default in the code is no secret
            click.echo(f"note: {secret_default_note(secrets)}", err=True)
        alone = [name for name in alone if name not in secrets]
        if alone:
            click.echo(
                f"note: the app was built without {', '.join(alone)}: it should refuse to start "
                "without a variable production must set; one whose default is safe in "
                f"production is named with --optional {alone[0]} (or in the app's "
                "PRODUCTION_OPTIONAL), and the audit no longer drops it",
                err=True,
            )
    if problems:
        for line in problems:
            click.echo(line)
        if all("could not judge" in line for line in problems):  # the check's, not the app's
            verdict = "not shown safe to release (the check could not judge it: see above)"
        else:
            verdict = "not safe to release"
        click.echo(f"{len(problems)} problem(s) in {source}: {verdict}.", err=True)
        raise Exit(1)
    if built:  # what the app's own build refuses, and no more
        how = "the audit's variants" if audit else "--audit tries its unsafe variants"
        done = "built and started" if start else "built (not started)"
        if wsgi:
            done = "built (a WSGI app: nothing to start)"
        if any(n.startswith("the app stopped there") for n in getattr(check, "notes", [])):
            done = "built and started up to a connection the check refused (see the note)"
        click.echo(f"{source}: production configuration OK: the app {done} with it ({how})")
    else:
        click.echo(f"{source}: production configuration OK")
