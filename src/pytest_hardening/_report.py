"""Per-test hardening records, the terminal summary, the JSON report and xdist aggregation."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["HardeningSession", "TestRecord"]


@dataclass
class TestRecord:
    """What the hardening fixtures saw during one test (JSON-able via :meth:`as_dict`)."""

    __test__ = False  # not a pytest test class

    nodeid: str
    fixtures: set[str] = field(default_factory=set)
    faults: list[dict[str, Any]] = field(default_factory=list)
    calls: dict[str, dict[str, int]] = field(default_factory=dict)
    unregistered: list[str] = field(default_factory=list)
    transitions: dict[str, list[list[str]]] = field(default_factory=dict)
    sentry_events: list[str] = field(default_factory=list)
    sentry_transactions: int = 0
    audit_findings: list[str] = field(default_factory=list)
    clock_advanced: float = 0.0
    outcome: str = "passed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "fixtures": sorted(self.fixtures),
            "faults": self.faults,
            "calls": self.calls,
            "unregistered": self.unregistered,
            "transitions": self.transitions,
            "sentry_events": self.sentry_events,
            "sentry_transactions": self.sentry_transactions,
            "audit_findings": self.audit_findings,
            "clock_advanced": self.clock_advanced,
        }


class HardeningSession:
    """Everything one pytest run (or, on the xdist controller, all workers) recorded."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.records: list[dict[str, Any]] = []

    def add(self, record: dict[str, Any]) -> None:
        self.records.append(record)

    def extend(self, records: Iterable[dict[str, Any]]) -> None:
        self.records.extend(records)

    def dumps(self) -> str:
        return json.dumps(self.records)

    def loads(self, text: str) -> None:
        self.extend(json.loads(text))

    def summary_lines(self) -> list[str]:
        """A few lines for the terminal: empty when no test used a hardening fixture."""
        if not self.records:
            return []
        faults: Counter[str] = Counter()
        transitions: Counter[str] = Counter()
        calls = 0
        events = 0
        findings = 0
        for record in self.records:
            for fault in record["faults"]:
                faults[f"{fault['provider']} {fault['kind']}"] += 1
            for name, moves in record["transitions"].items():
                for from_state, to_state in moves:
                    transitions[f"{name} {from_state}→{to_state}"] += 1
            calls += sum(sum(c.values()) for c in record["calls"].values())
            events += len(record["sentry_events"])
            findings += len(record["audit_findings"])
        failed = sum(1 for r in self.records if r["outcome"] != "passed")
        return [
            f"{len(self.records)} test(s) used hardening fixtures ({failed} not passed); "
            f"seed {self.seed} (replay: --hardening-seed={self.seed})",
            f"provider calls: {calls}; faults injected: {_top(faults)}",
            f"breaker transitions: {_top(transitions)}",
            f"Sentry events captured: {events}; audit findings: {findings}",
        ]

    def write_json(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        document = {"seed": self.seed, "tests": sorted(self.records, key=lambda r: r["nodeid"])}
        target.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
        return target


def _top(counter: Counter[str], limit: int = 6) -> str:
    if not counter:
        return "none"
    parts = [f"{key} ×{count}" for key, count in counter.most_common(limit)]
    if len(counter) > limit:
        parts.append(f"… {len(counter) - limit} more")
    return ", ".join(parts)
