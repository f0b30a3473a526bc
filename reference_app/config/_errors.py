"""The one error a refused configuration raises, and the problems it lists."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One configuration problem: the environment variable and what is wrong with it.

    ``message`` never contains the variable's value: values may be secrets.
    """

    variable: str
    message: str

    def __str__(self) -> str:
        return f"{self.variable}: {self.message}"


class ConfigurationError(Exception):
    """The configuration is unusable; ``problems`` lists every problem, each naming its variable.

    Deliberately not a ``ValueError``: pydantic would swallow and re-wrap it (echoing input values).
    """

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        count = len(self.problems)
        header = f"invalid configuration ({count} problem{'s' if count != 1 else ''}):"
        super().__init__("\n".join([header, *(f"  {p}" for p in self.problems)]))

    @property
    def variables(self) -> list[str]:
        """The names of the offending variables, in the order reported (may repeat)."""
        return [p.variable for p in self.problems]
