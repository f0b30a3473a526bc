"""What a refused production build's error shows, and which known-good secrets it leaks."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from pathlib import Path

from ._secrets import is_public_default, mask, refusal_lines, secret_values
from ._secrets import leaks as leaks_in

__all__ = ["RefusalText", "code_error", "names_variable"]


class RefusalText:
    """The secrets of ``prod_env`` (the known-good env) in a refusal: found, masked, and said
    where they are when the lines shown do not have them."""

    def __init__(self, prod_env: Mapping[str, str]) -> None:
        self.prod_env = prod_env

    def secrets(self, overrides: Mapping[str, str | None]) -> list[tuple[str, str]]:
        # The known-good values plus any the caller supplied; the audit's own placeholders are
        # not secrets, nor published defaults a test checks are refused ("changethis").
        supplied = {
            k: v for k, v in overrides.items() if v is not None and not is_public_default(v)
        }
        return [
            *secret_values(self.prod_env, min_length=6),
            *secret_values(supplied, min_length=6),
        ]

    def leaks(self, text: str, overrides: Mapping[str, str | None]) -> list[str]:
        return sorted({name for name, value in self.secrets(overrides) if leaks_in(text, value)})

    def leaks_of(self, error: BaseException, overrides: Mapping[str, str | None]) -> list[str]:
        """The secrets ``error`` prints: in its text, and every secret of a settings input a
        pydantic error prints (``input_value={...}``, cut to its first and last characters:
        which secrets show depends on the fields' order and lengths, not on the app's care)."""
        text = str(error)
        found = set(self.leaks(text, overrides))
        if "input_value=" in text and type(error).__name__ == "ValidationError":
            inputs = [repr(e.get("input")) for e in _errors(error) if isinstance(e, dict)]
            printed = " ".join(i for i in inputs if i.startswith("{"))  # a whole settings input
            found |= {name for name, value in self.secrets(overrides) if value in printed}
        return sorted(found)

    def redacted(self, text: str, overrides: Mapping[str, str | None]) -> str:
        return mask(text, self.secrets(overrides), label="<{name} redacted>")

    def shown(self, error: BaseException, overrides: Mapping[str, str | None]) -> str:
        """A refusal as a failure message shows it: pydantic's errors without the input they
        echo (the first characters of a secret, cut short, escaped the masking), the rest
        masked."""
        lines = refusal_lines(error) if isinstance(error, Exception) else [str(error)]
        return self.redacted("; ".join(lines), overrides)

    def echoed(
        self, error: BaseException, leaked: list[str], overrides: Mapping[str, str | None]
    ) -> str:
        """Where a leak is when the lines shown do not have it: in the input a pydantic
        validation error repeats (its full text, as a log line or a traceback prints it)."""
        if not isinstance(error, Exception) or type(error).__name__ != "ValidationError":
            return ""
        shown = " ".join(refusal_lines(error))
        if any(name in self.leaks(shown, overrides) for name in leaked):
            return ""
        return (
            " (in the input pydantic's error repeats, not in the lines shown here: its "
            "errors() hold it whole, for a log of them to print, and its text as much of it "
            "as fits; hide_input_in_errors=True in the settings' model_config leaves it out)"
        )


def _errors(error: BaseException) -> list[object]:
    try:
        return list(error.errors())  # type: ignore[attr-defined]
    except Exception:  # not pydantic's after all
        return []


def names_variable(text: str, variable: str) -> bool:
    """Whether a refusal names ``variable``: as written (any case), or as the field a settings
    class reads it into, its prefix dropped (pydantic-settings' ``env_prefix="SVC_"`` names
    ``SVC_AUTH_USERNAME`` ``auth_username``; a part of six characters or more), or, for a
    nested setting (``env_nested_delimiter="__"``: ``SVC__DB__USER``), as the dotted location
    pydantic gives its field (``db.user``). Either as a word: ``AWS_SECRET_KEY is required``
    does not name ``SECRET_KEY``."""
    lowered = text.lower()
    parts = variable.lower().split("_")
    names = ["_".join(parts[i:]) for i in range(len(parts))]
    if any(
        (i == 0 or len(name) >= 6)
        and re.search(rf"(?<![a-z0-9_]){re.escape(name)}(?![a-z0-9_])", lowered)
        for i, name in enumerate(names)
    ):
        return True
    nested = [part for part in variable.lower().split("__") if part]
    dotted = [".".join(nested[i:]) for i in range(len(nested) - 1)]
    return any(
        re.search(rf"(?<![a-z0-9_.]){re.escape(name)}(?![a-z0-9_])", lowered) for name in dotted
    )


def code_error(error: BaseException) -> str | None:
    """What ``error`` says when it is no refusal of a configuration but code that does not
    compile (a syntax newer than the Python the tests run on): a check must not read it as
    the app refusing, nor as the app accepting."""
    if not isinstance(error, SyntaxError):
        return None
    where = f" ({Path(error.filename).name}, line {error.lineno})" if error.filename else ""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    return f"{type(error).__name__}: {error.msg}{where}, under Python {version}"
