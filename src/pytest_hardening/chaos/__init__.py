"""The chaos engine: scenarios as data, one engine, two runners (pytest and ``hardening chaos``).

App-agnostic: a :class:`ChaosTarget` supplies the catalogue and a session factory that builds
a fresh app + harness (faults, clock, breakers) per run; the reference app's lives in
``reference_app.chaos``. See docs/chaos.md.
"""

from __future__ import annotations

from pytest_hardening.chaos._context import ChaosContext, Served
from pytest_hardening.chaos._engine import execute, run_scenario, run_scenarios, select
from pytest_hardening.chaos._expectations import (
    Check,
    ExpectAlert,
    ExpectBreaker,
    ExpectFastFail,
    ExpectNoSentryErrors,
    ExpectNoServerErrors,
    ExpectProviderCalls,
    ExpectSentryEvent,
    ExpectTransitions,
)
from pytest_hardening.chaos._html import render_html
from pytest_hardening.chaos._pytest import assert_scenario_passes, scenario_params
from pytest_hardening.chaos._result import DataLossCheck, ScenarioResult
from pytest_hardening.chaos._scenario import Scenario, Step
from pytest_hardening.chaos._session import HarnessSession
from pytest_hardening.chaos._steps import (
    Advance,
    FaultKind,
    Heal,
    Inject,
    Req,
    Send,
    send,
)
from pytest_hardening.chaos._target import ChaosTarget
from pytest_hardening.chaos._timeline import Timeline, breaker_line

__all__ = [
    "Advance",
    "ChaosContext",
    "ChaosTarget",
    "Check",
    "DataLossCheck",
    "ExpectAlert",
    "ExpectBreaker",
    "ExpectFastFail",
    "ExpectNoSentryErrors",
    "ExpectNoServerErrors",
    "ExpectProviderCalls",
    "ExpectSentryEvent",
    "ExpectTransitions",
    "FaultKind",
    "HarnessSession",
    "Heal",
    "Inject",
    "Req",
    "Scenario",
    "ScenarioResult",
    "Send",
    "Served",
    "Step",
    "Timeline",
    "assert_scenario_passes",
    "breaker_line",
    "execute",
    "render_html",
    "run_scenario",
    "run_scenarios",
    "scenario_params",
    "select",
    "send",
]
