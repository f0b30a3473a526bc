"""validate_environment: every problem with an environment, without building anything."""

from __future__ import annotations

from collections.abc import Mapping

from ._environment import VARIABLES, normalise, parse_environment
from ._errors import Problem
from ._production import production_problems

_FIELDS = frozenset(v.setting for v in VARIABLES)


def check_environment(env: Mapping[str, str]) -> tuple[dict[str, object], list[Problem]]:
    """Parsed Settings field values and every problem with ``env`` (shared by Settings)."""
    misnamed = sorted(_FIELDS & env.keys())
    if misnamed:
        message = "pass environment variable names (e.g. APP_ENV), not Settings field names"
        return {}, [Problem(name.upper(), message) for name in misnamed]
    values, problems = parse_environment(env)
    if values.get("app_env") == "production":
        problems.extend(production_problems(normalise(env)))
    return values, problems


def validate_environment(env: Mapping[str, str]) -> list[Problem]:
    """All problems with ``env`` (empty list = valid): malformed values in any mode, plus the
    production rules (docs/production-checklist.md) when APP_ENV (or its alias NODE_ENV) is
    ``production``.

    Messages name the variable and never contain a value.
    """
    return check_environment(env)[1]
