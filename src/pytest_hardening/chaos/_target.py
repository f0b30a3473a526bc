"""A chaos target: the scenarios of one app and how to build a fresh harness for each run."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
    module_name, _, attr = spec.partition(":")
    if not module_name or not attr:
        raise ValueError(f"target must look like 'package.module:attribute', got {spec!r}")
    obj = getattr(importlib.import_module(module_name), attr)
    target = obj if isinstance(obj, ChaosTarget) else obj()
    if not isinstance(target, ChaosTarget):
        raise TypeError(f"{spec} is not a ChaosTarget (got {type(target).__name__})")
    return target
