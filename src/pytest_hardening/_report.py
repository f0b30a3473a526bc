"""Per-test hardening records, the terminal summary, the JSON report and xdist aggregation."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ._secrets import unpersonal

__all__ = [
    "RECORD_KEY",
    "SESSION_KEY",
    "HardeningSession",
    "TestRecord",
    "collect_worker",
    "finish_item",
    "finish_session",
    "record_for",
    "session_of",
    "start_session",
    "write_summary",
]

_WORKER_KEY = "hardening_records"


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
    #: Seconds slept for real by module, as the RealSleepWarnings said (the summary's line
    #: for them shows what a project's filter on UserWarning hides).
    real_sleeps: dict[str, float] = field(default_factory=dict)
    #: The LoopDeadlineWarnings' messages, for the same reason.
    passed_deadlines: list[str] = field(default_factory=list)
    outcome: str = "passed"

    def add_faults(self, injector: Any) -> None:
        """Faults injected, provider call outcomes and unregistered hosts of a FaultInjector."""
        self.faults.extend(injector.injected)
        for name in injector.providers:
            counts = Counter(call.outcome for call in injector.calls(name))
            if counts:
                self.calls[name] = dict(counts)
        self.unregistered = [unpersonal(str(request.url)) for request in injector.unregistered]

    def add_transitions(self, inspector: Any) -> None:
        for name, moves in inspector.all_transitions().items():
            self.transitions[name] = [list(move) for move in moves]

    def add_sentry(self, capture: Any) -> None:
        # The report is a CI artifact: what the app's events said of its users stays out.
        self.sentry_events.extend(unpersonal(line) for line in capture.summary())
        self.sentry_transactions += len(capture.transactions)

    def add_real_sleeps(self, sleeps: Iterable[tuple[str, float]]) -> None:
        for module, seconds in sleeps:
            self.real_sleeps[module] = self.real_sleeps.get(module, 0.0) + seconds

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
            "real_sleeps": {module: round(s, 3) for module, s in self.real_sleeps.items()},
            "passed_deadlines": self.passed_deadlines,
        }


class HardeningSession:
    """Everything one pytest run (or, on the xdist controller, all workers) recorded."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.records: list[dict[str, Any]] = []
        #: The provider hosts this process's tests faked (for the guard at its exit).
        self.faked_hosts: set[str] = set()

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
        outcomes = Counter(r["outcome"].partition(" ")[0] for r in self.records)
        failed = len(self.records) - outcomes["passed"] - outcomes["xfailed"]
        xfailed = f", {outcomes['xfailed']} xfailed" if outcomes["xfailed"] else ""
        # The seed matters only to faults seeded by it (faults.random without a seed= of its
        # own, which replays the same whatever the run's seed): shown when one was used.
        seeded = any(
            str(fault.get("seed", "")).startswith(f"{self.seed}:")  # the run's, per test
            for record in self.records
            for fault in record["faults"]
        )
        replay = f"; seed {self.seed} (replay: --hardening-seed={self.seed})" if seeded else ""
        return [
            f"{len(self.records)} test(s) used hardening fixtures ({failed} not passed{xfailed})"
            f"{replay}",
            f"provider calls: {calls}; faults set: {_top(faults)}",
            f"breaker transitions: {_top(transitions)}",
            f"Sentry events captured: {events}; audit findings: {findings}",
            *_hidden_warnings(self.records),
        ]

    def write_json(self, path: str | Path) -> Path:
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        document = {"seed": self.seed, "tests": sorted(self.records, key=lambda r: r["nodeid"])}
        target.write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")
        return target


def _top(counts: Mapping[str, float], limit: int = 6, *, each: str = "{} ×{}") -> str:
    """The ``limit`` largest of ``counts``, each as ``each`` says, then how many more."""
    if not counts:
        return "none"
    ranked = sorted(counts.items(), key=lambda item: -item[1])  # ties: in the order counted
    parts = [each.format(key, count) for key, count in ranked[:limit]]
    if len(ranked) > limit:
        parts.append(f"… {len(ranked) - limit} more")
    return ", ".join(parts)


def _hidden_warnings(records: list[dict[str, Any]]) -> list[str]:
    """A line for the real sleeps and one for the passed loop deadlines the tests' warnings
    reported, when there were any: a project's ``filterwarnings = ignore::UserWarning`` (or
    ``-W ignore``) hides the warnings themselves, and a test that slept a minute passed in
    silence (a trial's)."""
    lines = []
    slept: dict[str, float] = {}
    sleepers = 0
    clocked = True  # every test that slept had the clock: only the modules are left to name
    for record in records:
        sleeps = record["real_sleeps"]
        sleepers += bool(sleeps)
        clocked = clocked and (not sleeps or "clock" in record["fixtures"])
        for module, seconds in sleeps.items():
            slept[module] = slept.get(module, 0.0) + seconds
    if slept:
        cure = "name" if clocked else "add the `clock` fixture, and name"
        lines.append(
            f"slept for real: {sum(slept.values()):.2f} s in {sleepers} test(s), from "
            f"{_top(slept, 3, each='{} {:.2f} s')}; {cure} back-off "
            "modules in hardening_backoff_modules (RealSleepWarning: docs/fixtures.md, `clock`)"
        )
    passed = [len(r["passed_deadlines"]) for r in records]
    if any(passed):
        lines.append(
            f"loop deadlines the clock passed unfired: {sum(passed)} in "
            f"{sum(map(bool, passed))} test(s); give the client its own httpx.Timeout under "
            "them (LoopDeadlineWarning: docs/fixtures.md, `clock`)"
        )
    return lines


SESSION_KEY = pytest.StashKey[HardeningSession]()
RECORD_KEY = pytest.StashKey[TestRecord]()


def start_session(config: pytest.Config) -> HardeningSession:
    """The run's seed: --hardening-seed, else the xdist controller's, else a random one."""
    seed = config.getoption("hardening_seed", None)
    workerinput = getattr(config, "workerinput", None)
    if seed is None and workerinput is not None:
        seed = workerinput.get("hardening_seed")
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    session = config.stash[SESSION_KEY] = HardeningSession(int(seed))
    return session


def session_of(config: pytest.Config) -> HardeningSession:
    return config.stash[SESSION_KEY]


def record_for(node: pytest.Item, fixture: str) -> TestRecord:
    """The record of the running test, created when its first hardening fixture is set up."""
    record: TestRecord | None = node.stash.get(RECORD_KEY, None)
    if record is None:
        record = TestRecord(node.nodeid)
        node.stash[RECORD_KEY] = record
    record.fixtures.add(fixture)
    return record


def finish_item(item: pytest.Item, report: pytest.TestReport) -> None:
    record = item.stash.get(RECORD_KEY, None)
    if record is None:
        return
    if report.outcome != "passed" and record.outcome == "passed":
        # An expected failure (xfail) is not a test that did not pass.
        outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
        record.outcome = f"{outcome} ({report.when})"
    if report.when == "teardown":
        session_of(item.config).add(record.as_dict())


def finish_session(config: pytest.Config) -> None:
    """Workers hand their records to the xdist controller; the controller (or a plain run)
    writes the JSON report."""
    state = session_of(config)
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_KEY] = state.dumps()
        return
    path = config.getoption("hardening_report", None)
    if path:
        state.write_json(path)


def collect_worker(node: Any) -> None:
    records = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if records:
        session_of(node.config).loads(records)


def write_summary(terminalreporter: Any, config: pytest.Config) -> None:
    lines = session_of(config).summary_lines()
    if not lines or getattr(config, "workerinput", None) is not None:
        return
    terminalreporter.write_sep("-", "hardening")
    for line in lines:
        terminalreporter.write_line(line)
    path = config.getoption("hardening_report", None)
    if path:
        terminalreporter.write_line(f"JSON report: {path}")
