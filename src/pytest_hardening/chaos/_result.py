"""What a scenario run produces: pass/fail, failed expectations, timeline, data-loss check."""

from __future__ import annotations

import os
import shlex
import site
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_hardening.chaos._timeline import (
    Timeline,
    breaker_line,
    change_times,
    seconds,
    status_summary,
)


@dataclass(frozen=True)
class DataLossCheck:
    """The scenario's own definition of "no data lost" and what checking it found."""

    description: str
    checked: int
    lost: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # What was lost, one item each (a count would pass at 0 in pytest and stop the
        # command's report): said where the scenario made it, not in a report later.
        lost: Any = self.lost
        if isinstance(lost, (str, bytes)) or not isinstance(lost, (tuple, list, set, frozenset)):
            raise TypeError(
                f"DataLossCheck(lost=...) takes what was lost, one item each (a tuple of "
                f"strings naming them, empty when nothing was), not {type(lost).__name__} "
                f"{lost!r}: pass the count checked as `checked`"
            )
        object.__setattr__(self, "lost", tuple(str(item) for item in lost))

    @property
    def passed(self) -> bool:
        return not self.lost


@dataclass
class ScenarioResult:
    """Outcome of one scenario: every failed expectation, the timeline and the data check."""

    name: str
    description: str
    seed: int
    timeline: Timeline
    failures: list[str] = field(default_factory=list)
    data_loss: DataLossCheck | None = None
    wall_seconds: float = 0.0
    logs: list[str] = field(default_factory=list)
    target: str | None = None  # the catalogue's package.module:attribute, when run by name
    #: The pytest test that ran it (its node id), when the target's spec is unknown there.
    test: str | None = None

    @property
    def passed(self) -> bool:
        return not self.failures and (self.data_loss is None or self.data_loss.passed)

    def explain(self) -> str:
        """A failure message that teaches: what was expected, what happened, the history."""
        lines = [f"chaos scenario {self.name!r} (seed {self.seed}) failed:"]
        lines += ["  - " + failure.replace("\n", "\n    ") for failure in self.failures]
        if self.data_loss is not None and not self.data_loss.passed:
            lines.append(f"  - data lost ({self.data_loss.description}):")
            lines += [f"      {item}" for item in self.data_loss.lost]
        if self.timeline.breakers:
            lines.append("breaker timelines (virtual seconds):")
            lines += [
                f"  {breaker_line(self.timeline, n)}   {change_times(self.timeline, n)}".rstrip()
                for n in self.timeline.breakers
            ]
        else:
            lines.append("breakers: none (the app shows no breaker)")
        if self.timeline.faults:
            marks = [f"{f.provider} {f.action} at {seconds(f.at)}" for f in self.timeline.faults]
            lines.append(f"faults: {'; '.join(marks)}")
        lines.append(f"requests served by status: {status_summary(self.timeline)}")
        if self.logs:
            lines.append(f"last app log lines (of {len(self.logs)}):")
            lines += [f"  {line}" for line in self.logs[-8:]]
        lines.append(f"replay with: {self.replay_command()}")
        return "\n".join(lines)

    def replay_command(self) -> str:
        """The command that runs this scenario again, exactly (its target and seed). A run
        inside a pytest test whose target has no ``spec`` replays as that test: a bare
        ``hardening chaos`` would run the project's default target instead. Either keeps this
        run's ``PYTHONPATH``: the target's modules may need it to import."""
        if self.target is None and self.test is not None:
            return f"{_prefix(_pythonpath(None))}python -m pytest {shlex.quote(self.test)}"
        target = f" --target {self.target}" if self.target else ""
        path = _pythonpath(_path_for(self.target) if self.target else None)
        return f"{_prefix(path)}hardening chaos {self.name} --seed {self.seed}{target}"

    def to_dict(self) -> dict[str, Any]:
        tl = self.timeline
        return {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "replay": self.replay_command(),
            "passed": self.passed,
            "failures": list(self.failures),
            "wall_seconds": round(self.wall_seconds, 4),
            "log_lines": len(self.logs),
            "virtual_seconds": tl.end,
            "requests_by_status": {str(k): v for k, v in tl.requests_by_status().items()},
            "data_loss": None
            if self.data_loss is None
            else {
                "description": self.data_loss.description,
                "checked": self.data_loss.checked,
                "lost": list(self.data_loss.lost),
                "passed": self.data_loss.passed,
            },
            "breakers": {
                name: {
                    "initial": tl.initial.get(name, "CLOSED"),
                    "transitions": [
                        {
                            "at": c.at,
                            "from": c.from_state,
                            "to": c.to_state,
                            "label": c.label,
                            "seen": c.seen,
                        }
                        for c in tl.transitions(name)
                    ],
                }
                for name in tl.breakers
            },
            "faults": [{"at": f.at, "provider": f.provider, "action": f.action} for f in tl.faults],
            "requests": [
                {
                    "at": r.at,
                    "method": r.method,
                    "path": r.path,
                    "status": r.status,
                    **({"request_id": r.request_id} if r.request_id else {}),
                    **({"cut": True} if r.cut else {}),
                }
                for r in tl.requests
            ],
        }


def _prefix(path: str) -> str:
    return f"PYTHONPATH={shlex.quote(path)} " if path else ""


def _pythonpath(needed: str | None) -> str:
    """``PYTHONPATH`` for the replay: the folder the target needs, then this run's own
    entries (the target's module may import others from them)."""
    given = [entry for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if entry]
    if needed is not None and not any(_same(needed, entry) for entry in given):
        given.insert(0, needed)
    return os.pathsep.join(given)


def _same(a: str, b: str) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def _path_for(spec: str) -> str | None:
    """The folder the command needs on ``PYTHONPATH`` to import ``spec``'s module, when this
    process found it elsewhere than where the command looks (the working directory, installed
    packages): a ``src/`` layout that pytest's ``pythonpath`` option or a conftest made
    importable. Relative to the working directory when under it."""
    top = spec.partition(":")[0].partition(".")[0]
    module = sys.modules.get(top)
    file = getattr(module, "__file__", None)
    if not file:
        return None
    found = Path(file).resolve().parent
    if Path(file).name == "__init__.py":
        found = found.parent
    here = Path.cwd().resolve()
    installed = {Path(p).resolve() for p in [*site.getsitepackages(), site.getusersitepackages()]}
    if found == here or found in installed:
        return None
    try:
        return str(found.relative_to(here))
    except ValueError:
        return str(found)
