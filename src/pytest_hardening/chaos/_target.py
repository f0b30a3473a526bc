"""A chaos target: the scenarios of one app and how to build a fresh harness for each run."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_hardening._config import load_object
from pytest_hardening.chaos._engine import Session
from pytest_hardening.chaos._scenario import Scenario


@dataclass(frozen=True)
class ChaosTarget:
    """What the runners need: a catalogue and a session factory (``seed -> context``)."""

    name: str
    catalogue: Callable[[], Sequence[Scenario]]
    session: Session
    #: ``"package.module:attribute"`` that loads this target: the replay command a failing run
    #: prints names it (``--target``). Set by :func:`load_target`; give it for pytest runs of
    #: a target other than the project's ``[tool.hardening] target``.
    spec: str | None = None
    #: True when runs in different processes share nothing they write (an in-memory database,
    #: or files named after ``HARDENING_CHAOS_WORKER``): ``hardening chaos`` may then run them
    #: in forked workers (``--jobs``). False, the default: one by one, since one worker's reset
    #: would empty the rows another worker's scenario is about to check.
    parallel_safe: bool = False


def load_target(spec: str) -> ChaosTarget:
    """Import ``"package.module:attribute"``; the attribute is a target or returns one. What
    is clearly neither (an app, ``app_from_import``'s factory, a function annotated to return
    something else) is refused without being called: calling it would build an app."""
    obj = load_object(spec, what="target")
    if isinstance(obj, ChaosTarget):
        target = obj
    else:
        why = _clearly_not_a_target(obj)
        if why is not None:
            raise TypeError(
                f"{spec} is not a ChaosTarget, nor a function returning one: {why}. Name a "
                "ChaosTarget, or a zero-argument function returning one (docs/chaos.md)"
            )
        target = obj()
    if not isinstance(target, ChaosTarget):
        raise TypeError(f"{spec} is not a ChaosTarget (got {type(target).__name__})")
    return target if target.spec is not None else dataclasses.replace(target, spec=spec)


def _clearly_not_a_target(obj: Any) -> str | None:
    """Why ``obj`` cannot be a function returning a target, when that shows without calling
    it; None when only calling it can tell (an unannotated function)."""
    from pytest_hardening._fresh_import import _FromImport

    if not callable(obj):
        return f"it is a {type(obj).__name__} object, not callable"
    if isinstance(obj, _FromImport):  # its signature is a target function's: () -> Any
        return (
            f"it is an app factory (app_from_import({obj.target!r})), not called; give it "
            "to the target's HarnessSession(app_factory=...)"
        )
    if isinstance(obj, type):
        return None if issubclass(obj, ChaosTarget) else f"it is the class {obj.__name__}"
    try:
        parameters = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):  # some builtins have no signature
        return None
    variadic = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    required = [p.name for p in parameters if p.default is p.empty and p.kind not in variadic]
    if required:  # an app (ASGI: scope, receive, send), a factory taking settings
        what = obj.__name__ if inspect.isroutine(obj) else f"a {type(obj).__name__}"
        return f"{what} takes arguments ({', '.join(required)})"
    returns = _annotated_return(obj)
    if returns is not None:
        return f"{obj.__name__} is annotated to return {returns}"
    return None


def _annotated_return(function: Any) -> str | None:
    """The class ``function`` says it returns, when that class cannot be a target."""
    if not inspect.isroutine(function):
        return None
    try:
        hint = typing.get_type_hints(function).get("return")
    except Exception:  # a name only imported for type checking: no telling
        return None
    if hint is type(None):
        return "None"
    if not isinstance(hint, type) or hint is Any:  # Optional[...], a TypeVar, no annotation
        return None
    try:  # ``-> object`` may return a target; ``-> FastAPI`` cannot
        possible = issubclass(hint, ChaosTarget) or issubclass(ChaosTarget, hint)
    except TypeError:  # ``list[int]`` passes for a class before Python 3.11
        return None
    return None if possible else hint.__name__
