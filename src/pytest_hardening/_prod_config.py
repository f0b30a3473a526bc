"""ProdConfigChecker: build the app from a production env and prove unsafe configs are refused."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ._app_modules import app_folder
from ._config import AppFactory
from ._dotenv_files import dotenv_hints
from ._fresh_builds import FreshBuilds, import_spec
from ._guard_failures import could_not_judge, refused_hosts, what_to_do
from ._prod_builds import ProductionBuilds
from ._prod_report import AuditReport
from ._prod_variants import (
    Mutation,
    debug_stayed_off,
    declared_optional,
    unsafe_variants,
    weak_secrets,
)
from ._refusal_text import RefusalText, code_error, names_variable
from ._unsafe_builds import and_joined, origin_variables, runs_in_debug, unsafe_problems
from ._work_dir import WorkDirChanges, watched_folders

__all__ = ["ProdConfigChecker", "UnsafeKnownGoodBuild"]


class UnsafeKnownGoodBuild(AssertionError):
    """The audit's failure when the known-good env's build is itself unsafe; ``report`` holds
    the variants it tried all the same (``hardening check-config --audit`` lists them)."""

    def __init__(self, message: str, report: AuditReport) -> None:
        super().__init__(message)
        self.report = report


#: What a build that failed on code that does not compile means to a check.
_NO_REFUSAL = (
    "an error in the app's code, not a refusal of the configuration, which no check can "
    "judge: fix it first"
)


class ProdConfigChecker(ProductionBuilds):
    """Build the app from ``prod_env`` with overrides; assert what it refuses."""

    def __init__(
        self,
        factory: AppFactory,
        prod_env: Mapping[str, str],
        *,
        clear: Iterable[str] = (),
        on_finding: Callable[[str], None] | None = None,
        startup: bool = True,
        fresh: FreshBuilds | None = None,
    ) -> None:
        super().__init__(factory, prod_env, clear=clear, startup=startup, fresh=fresh)
        self._text = RefusalText(self.prod_env)  # what a refusal shows, and what it leaks
        self._on_finding = on_finding

    def assert_accepts(self, **overrides: str | None) -> Any:
        """Fail unless the production build succeeds with ``overrides`` and runs out of debug
        mode (a debug flag that is on is no production build); return the app."""
        __tracebackhide__ = True
        error, app = self._outcome(overrides)
        if error is not None and self.failed_after:
            raise AssertionError(self._unjudged(error, overrides)) from None
        if error is not None and (broken := code_error(error)) is not None:
            raise AssertionError(
                f"expected the production build to succeed with {_describe(overrides)}; it "
                f"failed on {broken}: {_NO_REFUSAL}"
            ) from None
        if error is not None:
            raise AssertionError(
                f"expected the production build to succeed with {_describe(overrides)}; it was "
                f"refused: {self._text.shown(error, overrides)}"
            ) from None
        unsafe = unsafe_problems(
            app, self.env(**overrides), _describe(overrides), "hardening_prod_env"
        )
        if unsafe:
            raise AssertionError("\n".join(problem for problem, _ in unsafe))
        return app

    def assert_rejects(self, *, drop: Iterable[str] = (), **overrides: str | None) -> BaseException:
        """Fail unless the build is refused and the error names every dropped or overridden
        variable (case-insensitive) without echoing a secret value; return the error."""
        __tracebackhide__ = True
        changes: dict[str, str | None] = {**dict.fromkeys(drop), **overrides}
        error, app = self._outcome(changes)
        if error is None:
            self._finding(f"accepted {_describe(changes)}")
            # A factory reached by name is imported afresh when its import reads the env.
            afresh = (
                self._imported_aside
                or hasattr(self.factory, "modules_of")
                or import_spec(self.factory) is not None
            )
            ran = (
                f"the app got past what it validates: {self.stopped_at}"
                if self.stopped_at is not None
                else "the app was built and its startup ran"
            )
            if runs_in_debug(app):  # as assert_accepts and the audit judge it
                ran += (
                    ", in debug mode (app.debug is True: an error's traceback would reach the "
                    "client)"
                )
            raise AssertionError(
                f"expected the production build to be refused with {_describe(changes)}; "
                f"{ran}. Validate these variables when the app is built or starts"
                + (
                    ": the app accepts them."
                    if afresh
                    else f". A check made when a module is imported ran under the development "
                    f"env: {self.factory!r} cannot be imported afresh by name (a lambda, a "
                    "conftest's function); return a module's factory, or app_from_import "
                    "(docs/fixtures.md)."
                )
                + "".join(f"\n{hint}" for hint in dotenv_hints(changes))
            )
        broken = code_error(error)
        if broken is not None:
            raise AssertionError(
                f"expected the production build to be refused with {_describe(changes)}; it "
                f"failed on {broken}: {_NO_REFUSAL}"
            )
        text = str(error)
        missing = [name for name in changes if not names_variable(text, name)]
        leaked = self._text.leaks_of(error, changes)
        problems = []
        if missing and self.failed_after:  # maybe no refusal of the app's at all: said first
            problems.append(f"the error does not name {', '.join(missing)}")
            if leaked:
                problems.append(f"it leaks the value of {', '.join(leaked)}")
            raise AssertionError(
                f"{self._unjudged(error, changes)}\nbesides, {'; '.join(problems)}"
            )
        if missing:
            problems.append(f"the error does not name {', '.join(missing)}")
        if leaked:
            for name in leaked:
                self._finding(f"rejection message leaks the value of {name}")
            problems.append(
                f"the error leaks the value of {', '.join(leaked)}"
                + self._text.echoed(error, leaked, changes)
            )
        if problems:
            raise AssertionError(
                f"the build was refused ({type(error).__name__}) but {'; '.join(problems)}.\n"
                f"error: {self._text.shown(error, changes)}"
            )
        return error

    def audit(self, optional: Iterable[str] | None = None) -> AuditReport:
        """Apply each unsafe mutation to the known-good env, one at a time.

        Dropping a variable named in ``optional`` is not tried; by default those are the mode
        variables (``APP_ENV``, ``ENVIRONMENT``, ``NODE_ENV``, ...: ``MODE_VARIABLES``) and the
        app's declared ``PRODUCTION_OPTIONAL``
        (see :func:`declared_optional`).

        A known-good build that is itself unsafe (debug mode, any origin sending credentials)
        fails the audit, once every variant was tried: the failure says each way it is unsafe
        and whether the env or the app's code sets it, then the variants' report."""
        report = AuditReport()
        if optional is None:
            optional = declared_optional(self.factory)
        package = getattr(self.factory, "__module__", None) or ""
        packages = getattr(self.factory, "app_packages", None) or [package.partition(".")[0]]
        top = sorted(packages)[0] if packages else None
        watches = [WorkDirChanges(f) for f in watched_folders(app_folder(self.factory), top)]
        try:
            in_code = self._audit(report, optional)
        finally:
            report.wrote = [change for watch in watches for change in watch.changed()]
        if report.unsafe:
            # Not a report to read past: a test asserting only `report.accepted == []` would pass.
            fix = "the app" if in_code else "hardening_prod_env (or the app)"
            raise UnsafeKnownGoodBuild(
                "the production audit needs the known-good env's build to be safe, and it is "
                f"not (UNSAFE below): fix {fix} until prod_config.assert_accepts() passes. The "
                f"variants were tried all the same, against that build:\n{report}",
                report,
            )
        return report

    def _audit(self, report: AuditReport, optional: Iterable[str]) -> bool:
        """Fill ``report``; whether every problem of the known-good build comes from the
        app's code (no env can fix it)."""
        baseline, app = self._outcome({})
        report.reached = list(self.reached)
        if baseline is not None and self.failed_after:
            raise AssertionError(
                f"{self._unjudged(baseline, {})}\nthe production audit needs the known-good "
                "env to boot: fix this until prod_config.assert_accepts() passes"
            )
        if baseline is not None and (broken := code_error(baseline)) is not None:
            raise AssertionError(
                f"the production audit needs the known-good env to boot, and the build failed "
                f"on {broken}: {_NO_REFUSAL}"
            )
        if baseline is not None:  # every variant would look refused
            raise AssertionError(
                "the production audit needs the known-good env to boot, and it was refused: "
                f"{self._text.shown(baseline, {})}\n"
                "fix hardening_prod_env (or the factory) until prod_config.assert_accepts() "
                "passes"
            )
        # A finding of its own, beside the variants': their verdicts (a secret accepted at
        # "changethis") hold whatever the known-good build's debug flag or CORS.
        unsafe = unsafe_problems(app, self.prod_env, "the known-good env", "hardening_prod_env")
        for problem, _ in unsafe:
            report.unsafe.append(problem)
            self._finding(f"unsafe known-good build: {problem}")
        near = app_folder(self.factory, app)  # its example files, wherever tests run from
        for mutation in weak_secrets(self.prod_env, near=near):  # accepted as the known-good env
            report.accepted.append(mutation)
            self._finding(f"accepted {mutation}")
        # Variables the app lets in as CORS origins get the any-origin variant, whatever
        # their names (FRONTEND_HOST in allow_origins).
        origins = origin_variables(app, self.prod_env)
        for mutation in unsafe_variants(self.prod_env, optional, origins, near=near):
            changes = {mutation.variable: mutation.value}
            error, app = self._outcome(changes)
            if error is None and debug_stayed_off(mutation, app):
                report.harmless.append(mutation)
                continue
            if error is None:
                report.accepted.append(mutation)
                if self.stopped_at is not None:
                    report.notes[mutation] = self.stopped_at
                self._finding(f"accepted {mutation}")
                continue
            # Refused where the known-good build was not (it went on past those it was):
            # a failure that names no variable may then be a library's, not the app's refusal.
            suspects = [r for r in self.failed_after if r not in report.reached]
            if not names_variable(str(error), mutation.variable) and suspects:
                report.unjudged.append(mutation)
                report.notes[mutation] = (
                    f"its build failed with {type(error).__name__} after the check refused "
                    f"{refused_hosts(suspects)}"
                )
                self._finding(f"could not judge {mutation}")
            else:
                report.rejected.append(mutation)
                if not names_variable(str(error), mutation.variable):
                    report.unnamed.append(mutation)
                    self._finding(f"refused without naming the variable: {mutation}")
            # One leak per refusal and place (the lines shown, or pydantic's input), naming
            # every secret there: a settings error repeats them all at once.
            where: dict[str, list[str]] = {}
            for name in self._text.leaks_of(error, {}):
                where.setdefault(self._text.echoed(error, [name], {}), []).append(name)
            for place, names in where.items():
                values = (
                    f"value of {names[0]}" if len(names) == 1 else f"values of {and_joined(names)}"
                )
                said = "carried" if place else "printed"  # pydantic's input: held, not shown
                leak = f"refusing '{mutation}' {said} the {values}{place}"
                if leak not in report.leaks:
                    report.leaks.append(leak)
                    self._finding(f"leak: {leak}")
        return all(in_code for _, in_code in unsafe)

    def mutations(self, optional: Iterable[str] | None = None) -> list[Mutation]:
        """The variants :meth:`audit` tries on the known-good env, by the same default for
        ``optional`` (the mode variables and the app's ``PRODUCTION_OPTIONAL``: not dropped);
        not those it adds once it has seen the app (any origin for a variable its CORS lets
        in)."""
        if optional is None:
            optional = declared_optional(self.factory)
        return unsafe_variants(self.prod_env, optional, near=app_folder(self.factory))

    def _unjudged(self, error: BaseException, overrides: Mapping[str, str | None]) -> str:
        """A build that failed with ``error`` after the guard refused a connection: the check
        cannot tell it from a refusal of the configuration (see :mod:`._guard_failures`)."""
        shown = self._text.shown(error, overrides)
        return (
            could_not_judge(self.failed_after, _describe(overrides), shown)
            + ".\n"
            + what_to_do(self.failed_after, "hardening_prod_env")
        )

    def _finding(self, text: str) -> None:
        if self._on_finding is not None:
            self._on_finding(text)


def _describe(changes: Mapping[str, str | None]) -> str:
    if not changes:
        return "the known-good env"
    return ", ".join(
        f"{name} dropped" if value is None else f"{name} changed" for name, value in changes.items()
    )
