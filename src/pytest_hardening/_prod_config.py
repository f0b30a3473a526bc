"""ProdConfigChecker: build the app from a production env and prove unsafe configs are refused."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ._app import build_app
from ._cached_getters import CachedGetters
from ._config import AppFactory, NotConfigured
from ._fresh_import import production_build
from ._network import NetworkGuard
from ._secrets import (
    example_placeholder,
    is_public_default,
    is_secret_name,
    leaks,
    mask,
    secret_values,
)
from ._sentry import SentryCapture
from ._sentry_guard import SentryGuard

__all__ = ["AuditReport", "Mutation", "ProdConfigChecker", "declared_optional"]


@dataclass(frozen=True)
class Mutation:
    """One unsafe change to the known-good env (``value`` None: the variable is dropped)."""

    variable: str
    kind: str
    value: str | None

    def __str__(self) -> str:
        if self.value is None:
            return f"{self.variable}: dropped"
        if is_secret_name(self.variable):
            return f"{self.variable}: {self.kind} -> <redacted>"
        # A URL's password (DATABASE_URL ...) is a secret whatever the variable is called.
        shown = mask(repr(self.value), secret_values({self.variable: self.value}, min_length=1))
        return f"{self.variable}: {self.kind} -> {shown}"


@dataclass
class AuditReport:
    """``accepted``: unsafe mutations the app booted with (empty = pass); ``leaks``: rejection
    messages that contained a secret value; ``unnamed``: rejections not naming the variable."""

    accepted: list[Mutation] = field(default_factory=list)
    rejected: list[Mutation] = field(default_factory=list)
    unnamed: list[Mutation] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)

    @property
    def findings(self) -> list[str]:
        # A refusal that does not name the variable may be another crash (the variant then
        # proved nothing), and tells an operator nothing: a finding too.
        return (
            [f"accepted {m}" for m in self.accepted]
            + [f"leak: {leak}" for leak in self.leaks]
            + [f"refused without naming the variable: {m}" for m in self.unnamed]
        )

    @property
    def ok(self) -> bool:
        return not self.findings

    def __str__(self) -> str:
        lines = [f"{len(self.rejected)} unsafe change(s) refused, {len(self.accepted)} accepted"]
        lines += [f"  ACCEPTED {m}" for m in self.accepted]
        dropped = {m.variable: None for m in self.accepted if m.value is None}
        lines += [f"  {hint}" for hint in dotenv_hints(dropped)]
        lines += [f"  LEAK {leak}" for leak in self.leaks]
        lines += [f"  refused without naming the variable: {m}" for m in self.unnamed]
        return "\n".join(lines)

    def assert_ok(self) -> None:
        __tracebackhide__ = True
        if not self.ok:
            raise AssertionError(f"production config audit failed:\n{self}")


#: Files settings libraries read beside the environment (pydantic-settings' env_file,
#: python-dotenv's load_dotenv), looked for in the working directory and its parents: apps
#: run from a subfolder often read ``../.env`` (the full-stack FastAPI template's backend does).
_DOTENV_FILES = (".env", ".env.local", ".env.production")
_DOTENV_PARENTS = 2


def _dotenv_paths() -> list[Path]:
    here = Path.cwd()
    folders = [here, *here.parents[:_DOTENV_PARENTS]]
    return [folder / name for folder in folders for name in _DOTENV_FILES]


def dotenv_hints(changes: Mapping[str, str | None]) -> list[str]:
    """For each dropped variable that a dotenv file in the working directory or one of its two
    parents sets, why the build may still have found it (never the value)."""
    dropped = [name for name, value in changes.items() if value is None]
    hints = []
    for path in _dotenv_paths():
        try:
            text = path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
        except OSError:
            continue
        named = [
            n for n in dropped if re.search(rf"(?m)^\s*(?:export\s+)?{re.escape(n)}\s*=", text)
        ]
        if named:
            shown = os.path.relpath(path)
            hints.append(
                f"{', '.join(named)} dropped from the environment, but set in {shown}: if the "
                "app's settings read that file (pydantic-settings' env_file, python-dotenv), "
                "the build found it there. Have the settings read no file under test (e.g. "
                "Settings(_env_file=None)), or run from a directory without one."
            )
    return hints


class ProdConfigChecker:
    """Build the app from ``prod_env`` with overrides; assert what it refuses."""

    def __init__(
        self,
        factory: AppFactory,
        prod_env: Mapping[str, str],
        *,
        clear: Iterable[str] = (),
        on_finding: Callable[[str], None] | None = None,
    ) -> None:
        if isinstance(prod_env, NotConfigured):
            prod_env.require()
        self.factory = factory
        self.prod_env = dict(prod_env)
        self.clear = set(clear) | set(prod_env)
        self._on_finding = on_finding
        #: What the builds sent to Sentry (e.g. each refused build's report), kept in memory.
        self.sentry = SentryCapture()
        self._getters = CachedGetters(factory)  # searched once for all the builds

    def env(self, **overrides: str | None) -> dict[str, str]:
        env = dict(self.prod_env)
        for name, value in overrides.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = str(value)
        return env

    def build(self, **overrides: str | None) -> Any:
        """Build the app from the production env with ``overrides`` (None drops a variable).

        The build runs under a :class:`SentryGuard`: what a Sentry client created meanwhile
        sends (a refused build's report too) goes to :attr:`sentry`, never to the DSN; a client
        the app initialises is closed and the caller's global client and scopes are restored,
        whatever the outcome. It also runs under a :class:`NetworkGuard`: a factory that
        connects while it builds (a database ping, a remote config) is refused, and the
        refusal names the host, instead of reaching a production host from a test.
        """
        with SentryGuard(self.sentry), NetworkGuard(), production_build():
            return build_app(
                self.factory,
                self.env(**overrides),
                clear=self.clear | set(overrides),
                getters=self._getters,
            )

    def _attempt(self, overrides: Mapping[str, str | None]) -> BaseException | None:
        try:
            self.build(**overrides)
        except Exception as error:
            return error
        return None

    def assert_accepts(self, **overrides: str | None) -> Any:
        __tracebackhide__ = True
        try:
            return self.build(**overrides)
        except Exception as error:
            raise AssertionError(
                f"expected the production build to succeed with {_describe(overrides)}; it was "
                f"refused: {type(error).__name__}: {self._redacted(str(error), overrides)}"
            ) from None

    def assert_rejects(self, *, drop: Iterable[str] = (), **overrides: str | None) -> BaseException:
        """Fail unless the build is refused and the error names every dropped or overridden
        variable (case-insensitive) without echoing a secret value; return the error."""
        __tracebackhide__ = True
        changes: dict[str, str | None] = {**dict.fromkeys(drop), **overrides}
        error = self._attempt(changes)
        if error is None:
            self._finding(f"accepted {_describe(changes)}")
            raise AssertionError(
                f"expected the production build to be refused with {_describe(changes)}; "
                "the app booted. Validate these variables at startup; an app that reads "
                "them when a module is imported needs app_from_import (docs/fixtures.md)."
                + "".join(f"\n{hint}" for hint in dotenv_hints(changes))
            )
        text = str(error)
        missing = [name for name in changes if name.lower() not in text.lower()]
        leaked = self._leaks(text, changes)
        problems = []
        if missing:
            problems.append(f"the error does not name {', '.join(missing)}")
        if leaked:
            for name in leaked:
                self._finding(f"rejection message leaks the value of {name}")
            problems.append(f"the error leaks the value of {', '.join(leaked)}")
        if problems:
            raise AssertionError(
                f"the build was refused ({type(error).__name__}) but {'; '.join(problems)}.\n"
                f"error: {self._redacted(text, changes)}"
            )
        return error

    def audit(self, optional: Iterable[str] | None = None) -> AuditReport:
        """Apply each unsafe mutation to the known-good env, one at a time.

        Dropping a variable named in ``optional`` is not tried; by default those are the mode
        variables (``APP_ENV``, ``NODE_ENV``) and the app's declared ``PRODUCTION_OPTIONAL``
        (see :func:`declared_optional`)."""
        report = AuditReport()
        if optional is None:
            optional = declared_optional(self.factory)
        baseline = self._attempt({})
        if baseline is not None:  # every variant would look refused
            raise AssertionError(
                "the production audit needs the known-good env to boot, and it was refused: "
                f"{type(baseline).__name__}: {self._redacted(str(baseline), {})}\n"
                "fix hardening_prod_env (or the factory) until prod_config.assert_accepts() "
                "passes"
            )
        for mutation in self.mutations(optional):
            changes = {mutation.variable: mutation.value}
            error = self._attempt(changes)
            if error is None:
                report.accepted.append(mutation)
                self._finding(f"accepted {mutation}")
                continue
            report.rejected.append(mutation)
            text = str(error)
            if mutation.variable.lower() not in text.lower():
                report.unnamed.append(mutation)
                self._finding(f"refused without naming the variable: {mutation}")
            for name in self._leaks(text, {}):
                leak = f"refusing '{mutation}' printed the value of {name}"
                if leak not in report.leaks:
                    report.leaks.append(leak)
                    self._finding(f"leak: {leak}")
        return report

    def mutations(self, optional: Iterable[str] = ()) -> list[Mutation]:
        skip = set(optional)
        found: list[Mutation] = []
        for name, value in self.prod_env.items():
            if name not in skip:
                found.append(Mutation(name, "drop", None))
            found.extend(_weakened(name, value))
            parts = urlsplit(value) if "://" in value else None
            if parts is None or not parts.hostname:
                continue
            if parts.scheme == "https":
                insecure = urlunsplit(parts._replace(scheme="http"))
                found.append(Mutation(name, "http scheme", insecure))
            for host in ("localhost", "127.0.0.1"):
                found.append(Mutation(name, host, _with_host(parts, host)))
            found.append(Mutation(name, "placeholder", "https://yourdomain.com"))
            found.append(Mutation(name, "malformed", "not a url"))
        return found

    # -- secrets ---------------------------------------------------------------------------
    def _secrets(self, overrides: Mapping[str, str | None]) -> list[tuple[str, str]]:
        # The known-good values plus any the caller supplied; the audit's own placeholders are
        # not secrets, nor published defaults a test checks are refused ("changethis").
        supplied = {
            k: v for k, v in overrides.items() if v is not None and not is_public_default(v)
        }
        return [
            *secret_values(self.prod_env, min_length=6),
            *secret_values(supplied, min_length=6),
        ]

    def _leaks(self, text: str, overrides: Mapping[str, str | None]) -> list[str]:
        return sorted({name for name, value in self._secrets(overrides) if leaks(text, value)})

    def _redacted(self, text: str, overrides: Mapping[str, str | None]) -> str:
        return mask(text, self._secrets(overrides), label="<{name} redacted>")

    def _finding(self, text: str) -> None:
        if self._on_finding is not None:
            self._on_finding(text)


MODE_VARIABLES = ("APP_ENV", "NODE_ENV")


def declared_optional(factory: AppFactory) -> set[str]:
    """The variables an app declares optional in production: ``APP_ENV``/``NODE_ENV`` and a
    ``PRODUCTION_OPTIONAL`` sequence of names in the factory's module, one of its parent
    packages, or a ``config`` module beside them (already imported: nothing is imported here)."""
    found = set(MODE_VARIABLES)
    module = getattr(factory, "__module__", None) or ""
    parts = module.split(".")
    for depth in range(len(parts), 0, -1):
        name = ".".join(parts[:depth])
        for candidate in (name, f"{name}.config"):
            declared = getattr(sys.modules.get(candidate), "PRODUCTION_OPTIONAL", None)
            if declared is not None:
                found.update(str(v) for v in declared)
    return found


#: Variables that switch debugging on, and that list the origins CORS lets in.
_DEBUG = re.compile(r"(^|_)DEBUG$", re.IGNORECASE)
_ORIGINS = re.compile(r"CORS|ORIGINS", re.IGNORECASE)


def _weakened(name: str, value: str) -> list[Mutation]:
    """The unsafe values a setting of this kind is given in the wild: a secret left at a
    published default, its ``.env.example`` placeholder or one character, debugging switched
    on, any origin allowed."""
    if "://" not in value and is_secret_name(name):
        return [
            Mutation(name, "published default", "changethis"),
            Mutation(name, "example placeholder", example_placeholder(name)),
            Mutation(name, "short", "x"),
        ]
    if _DEBUG.search(name):
        return [Mutation(name, "debug on", "true")]
    if _ORIGINS.search(name):
        return [Mutation(name, "any origin", "*")]
    return []


def _with_host(parts: Any, host: str) -> str:
    userinfo = parts.netloc.rpartition("@")[0]
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{userinfo}@{host}{port}" if userinfo else f"{host}{port}"
    return str(urlunsplit(parts._replace(netloc=netloc)))


def _describe(changes: Mapping[str, str | None]) -> str:
    if not changes:
        return "the known-good env"
    return ", ".join(
        f"{name} dropped" if value is None else f"{name} changed" for name, value in changes.items()
    )
