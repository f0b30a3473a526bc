"""A chaos target: the scenarios of one app and how to build a fresh harness for each run."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
    """Import ``"package.module:attribute"``; the attribute is a target or returns one."""
    obj = load_object(spec, what="target")
    target = obj if isinstance(obj, ChaosTarget) else obj()
    if not isinstance(target, ChaosTarget):
        raise TypeError(f"{spec} is not a ChaosTarget (got {type(target).__name__})")
    return target if target.spec is not None else dataclasses.replace(target, spec=spec)
