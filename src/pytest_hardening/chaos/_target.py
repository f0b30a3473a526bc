"""A chaos target: the scenarios of one app and how to build a fresh harness for each run."""

from __future__ import annotations

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


def load_target(spec: str) -> ChaosTarget:
    """Import ``"package.module:attribute"``; the attribute is a target or returns one."""
    obj = load_object(spec, what="target")
    target = obj if isinstance(obj, ChaosTarget) else obj()
    if not isinstance(target, ChaosTarget):
        raise TypeError(f"{spec} is not a ChaosTarget (got {type(target).__name__})")
    return target
