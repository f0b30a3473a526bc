"""AuditReport: what the production audit found, and how it says so (it tries: _prod_variants)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ._dotenv_files import dotenv_hints
from ._guard_failures import UNJUDGED_ADVICE
from ._prod_variants import Mutation
from ._secrets import is_secret_name

__all__ = ["DEFAULT_IN_CODE", "AuditReport", "secret_default_note"]


def secret_default_note(names: list[str]) -> str:
    """What a secret the app started without may mean: a development value in its code
    (``os.environ.get("SECRET_KEY", "dev-...")``), no secret to anyone who reads it, or a
    secret read only when a request needs it; either way production must set it."""
    return f"{', '.join(names)}: the app started without it: {DEFAULT_IN_CODE}"


#: Why a secret must not have a default in the code, nor go missing until a request needs it
#: (the end of :func:`secret_default_note`).
DEFAULT_IN_CODE = (
    "if its code gives it a default, that value is published with the code (whoever reads it "
    "has the secret, in every copy that runs on it), and if the app reads it only when a "
    "request needs it, a missing secret shows only then; production must set it, and the app "
    "refuse to start without it"
)


@dataclass
class AuditReport:
    """``accepted``: unsafe mutations the app booted with (empty = pass); ``leaks``: rejection
    messages that contained a secret value; ``unnamed``: rejections not naming the variable;
    ``harmless``: a debug variable dropped, and the app booted out of debug mode all the same
    (its ``app.debug`` is False); ``unsafe``: what makes the known-good build itself unsafe
    (debug mode, any origin sending credentials), each saying whether its env or the app's
    code sets it (:meth:`ProdConfigChecker.audit` fails on it, after the variants);
    ``unjudged``: variants whose build failed, with an error naming no variable, after the
    check's network guard refused a connection the known-good build never tried (a cloud SDK's
    credentials probe): neither accepted nor refused, and a finding, since nothing proves them
    refused."""

    accepted: list[Mutation] = field(default_factory=list)
    rejected: list[Mutation] = field(default_factory=list)
    unnamed: list[Mutation] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    harmless: list[Mutation] = field(default_factory=list)
    #: Where the startup of an accepted mutation stopped, having got past its validation; for
    #: an unjudged one, which connection the check refused before its build failed.
    notes: dict[Mutation, str] = field(default_factory=dict)
    #: The connections the known-good boot tried and went on without (refused by the check).
    reached: list[str] = field(default_factory=list)
    #: What the builds wrote into the working directory (a default path a variant fell back on).
    wrote: list[str] = field(default_factory=list)
    unsafe: list[str] = field(default_factory=list)
    unjudged: list[Mutation] = field(default_factory=list)  # last: fields keep their places

    @property
    def findings(self) -> list[str]:
        # A refusal that does not name the variable may be another crash (the variant then
        # proved nothing), and tells an operator nothing: a finding too.
        return (
            [f"unsafe known-good build: {problem}" for problem in self.unsafe]
            + [f"accepted {m}{self._note(m)}" for m in self.accepted]
            + [f"leak: {leak}" for leak in self.leaks]
            + [f"refused without naming the variable: {m}" for m in self.unnamed]
            + [f"could not judge {m}{self._note(m)}" for m in self.unjudged]
        )

    @property
    def ok(self) -> bool:
        return not self.findings

    def __str__(self) -> str:
        lines = [f"{len(self.rejected)} unsafe change(s) refused, {len(self.accepted)} accepted"]
        if self.unjudged:
            lines[0] += f", {len(self.unjudged)} not judged"
        lines += [f"  UNSAFE known-good build: {problem}" for problem in self.unsafe]
        if self.harmless:
            shown = ", ".join(str(m) for m in self.harmless)
            lines.append(f"  accepted, the app out of debug mode without it: {shown}")
        lines += [f"  ACCEPTED {m}{self._note(m)}" for m in self.accepted]
        dropped = {m.variable: None for m in self.accepted if m.value is None}
        hints = dotenv_hints(dropped)
        lines += [f"  {hint}" for hint in hints]
        if dropped and not hints:
            lines.append(
                f"  {', '.join(dropped)} dropped and the app started: it runs on a default of "
                "its own, or never reads it (then it is no setting of the app's: leave it out "
                "of the known-good env). The app should refuse to start without a variable "
                "production must set; one whose default is safe in production goes in a "
                "PRODUCTION_OPTIONAL sequence in the factory's module (or "
                "prod_config.audit(optional=[...]), which replaces the default list: name the "
                "mode variables there too), and the audit no longer drops it."
            )
            secrets = [name for name in dropped if is_secret_name(name)]
            if secrets:
                # The likeliest default for a secret is a development value in the code
                # (os.environ.get("SECRET_KEY", "dev-...")): no secret to anyone who reads it.
                lines.append(f"  {secret_default_note(secrets)}")
        lines += [f"  LEAK {leak}" for leak in self.leaks]
        lines += [f"  refused without naming the variable: {m}" for m in self.unnamed]
        lines += [f"  NOT JUDGED {m}{self._note(m)}" for m in self.unjudged]
        if self.unjudged:
            lines.append(f"  {UNJUDGED_ADVICE}")
        if self.reached:
            lines.append(
                "  the production boot tried to reach the network and went on when the check "
                f"refused it: {'; '.join(r.strip() for r in self.reached)} (in production it "
                "connects)"
            )
        if self.wrote:
            lines.append(
                f"  the builds wrote into the working directory: {', '.join(self.wrote)}: a "
                "variant fell back on a default path of the app's (a database, a storage "
                "folder); look at what changed, and run the audit from a folder of its own"
            )
        return "\n".join(lines)

    def _note(self, mutation: Mutation) -> str:
        note = self.notes.get(mutation)
        return f" ({note})" if note else ""

    def assert_ok(self) -> None:
        __tracebackhide__ = True
        if not self.ok:
            raise AssertionError(f"production config audit failed:\n{self}")
