"""validate_environment: every problem with an environment, without building anything."""

from __future__ import annotations

from collections.abc import Mapping

from ._environment import normalise, parse_environment
from ._errors import Problem
from ._production import production_problems


def validate_environment(env: Mapping[str, str]) -> list[Problem]:
    """All problems with ``env`` (empty list = valid): malformed values in any mode, plus the
    production rules of SPEC §2.2 when APP_ENV (or its alias NODE_ENV) is ``production``.

    Messages name the variable and never contain a value.
    """
    _, problems = parse_environment(env)
    normal = normalise(env)
    if normal.get("APP_ENV", "").lower() == "production":
        problems.extend(production_problems(normal))
    return problems
