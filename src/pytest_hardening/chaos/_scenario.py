"""Scenarios as data: steady-state hypothesis, method, rollback and a data-loss check."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from pytest_hardening.chaos._context import ChaosContext
    from pytest_hardening.chaos._result import DataLossCheck


class Step(Protocol):
    """One action or probe. ``run`` reports broken expectations through ``ctx.fail``."""

    def run(self, ctx: ChaosContext) -> None: ...


DataCheck = Callable[["ChaosContext"], "DataLossCheck"]


@dataclass(frozen=True)
class Scenario:
    """A chaos experiment in the spirit of Chaos Toolkit.

    ``steady_state`` probes must hold before the method runs (else the scenario is not
    attempted) and again after it, before the rollback; ``method`` injects faults, moves the
    virtual clock and sends traffic, with expectations in between; ``rollback`` always runs
    (heal everything); ``data_check`` then proves the scenario's definition of "no data lost".
    """

    name: str
    description: str
    method: Sequence[Step]
    steady_state: Sequence[Step] = ()
    rollback: Sequence[Step] = ()
    data_check: DataCheck | None = None
    tags: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        # A wrong step fails where the scenario is written, not halfway through a run.
        for phase in ("steady_state", "method", "rollback"):
            steps = getattr(self, phase)
            if callable(getattr(steps, "run", None)):  # one step, not in a tuple: take it
                object.__setattr__(self, phase, (steps,))
            elif isinstance(steps, (str, bytes)) or not isinstance(steps, Iterable):
                raise TypeError(
                    f"scenario {self.name!r}: {phase} is {steps!r}, not steps: give a tuple "
                    "of steps (Send, Inject, Advance, Check ...)"
                )
            else:
                object.__setattr__(self, phase, tuple(steps))
            for i, step in enumerate(getattr(self, phase)):
                if not callable(getattr(step, "run", None)):
                    raise TypeError(
                        f"scenario {self.name!r}: {phase}[{i}] is {step!r}, not a step: a step "
                        "has run(ctx) (Send, Inject, Advance, Check ...; wrap a function in "
                        "Check(description, probe))"
                    )

    def __str__(self) -> str:
        return self.name
